namespace Fmnist;

/// <summary>
/// Every file fmnist writes goes through here: written to a hidden temporary file in the same folder,
/// then renamed over the target, so a reader sees the old file or the complete new one, never half a
/// file, and an error or Ctrl-C leaves nothing behind.
/// </summary>
public static class AtomicFile
{
    /// <summary>Refuses, before any work, a file target that cannot be written: a directory, or a file in a
    /// folder that does not exist. Returns the full path. <paramref name="suggestedName"/> (e.g. model.onnx)
    /// completes the hint given when the target is a directory.</summary>
    public static string CheckTarget(string path, string? suggestedName = null)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new FmnistException($"{path}: is a directory; give a file name{(suggestedName is null ? "" : $" such as {Path.Combine(path, suggestedName)}")}");
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new FmnistException($"{path}: folder {dir} does not exist");
        return full;
    }

    /// <summary>Calls <paramref name="writeTemp"/> with a temporary path, then moves that file to <paramref name="path"/>.</summary>
    /// <param name="shownAs">The file the user knows, named in errors, when <paramref name="path"/> is only a staging place.</param>
    public static void Write(string path, Action<string> writeTemp, string? shownAs = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new FmnistException($"{path}: is a directory, not a file");
        var dir = Path.GetDirectoryName(full)!;
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FmnistException($"{path}: cannot create its folder ({e.Message.TrimEnd('.')})");
        }
        // Same folder, so the rename never crosses file systems; the leading dot hides it from listings.
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Environment.CurrentManagedThreadId}.tmp");
        try
        {
            try
            {
                writeTemp(tmp); // its other errors pass through unchanged: the caller knows what they mean
            }
            catch (Exception e) when (IsDiskRefusal(e))
            {
                throw new FmnistException($"{shownAs ?? path}: cannot write ({Reason(e)})", e);
            }
            try
            {
                File.Move(tmp, full, overwrite: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new FmnistException($"{shownAs ?? path}: cannot write ({Reason(e)})", e);
            }
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>
    /// A write the storage refused (Linux errno in HResult): EIO, EFBIG (file-size limit), ENOSPC (disk
    /// full), EROFS, EDQUOT (quota). Other IO errors inside a writer (a download's broken connection) are
    /// the writer's to explain.
    /// </summary>
    public static bool IsDiskRefusal(Exception e) => e is IOException { HResult: 5 or 27 or 28 or 30 or 122 } || IsFileTooLarge(e);

    /// <summary>.NET reports EFBIG from a write not as an IOException but as this, thrown by its own file code.</summary>
    private static bool IsFileTooLarge(Exception e) =>
        e is ArgumentOutOfRangeException { ParamName: "value" } && e.TargetSite?.DeclaringType?.Namespace == "System.IO";

    /// <summary>The operating system's words without the temporary file's name, which means nothing to a user.</summary>
    public static string Reason(Exception e)
    {
        if (IsFileTooLarge(e)) return "file too large: above the file-size limit (ulimit -f)";
        var message = e.Message.ReplaceLineEndings(" ");
        int at = message.IndexOf(" : '", StringComparison.Ordinal);
        return (at > 0 ? message[..at] : message).Trim().TrimEnd('.');
    }

    public static void WriteAllText(string path, string text) => Write(path, tmp => File.WriteAllText(tmp, text));

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, tmp => File.WriteAllBytes(tmp, bytes));
}
