using System.Globalization;
using System.Text.Json;

namespace Fmnist;

/// <summary>Who holds a folder's lock, as its lock file says.</summary>
internal sealed record LockHolder(int Pid, string Host, DateTimeOffset Since, string Command)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"pid {Pid} on {Host}, since {Since.ToUniversalTime():yyyy-MM-dd HH:mm:ss} UTC{(Command.Length == 0 ? "" : $": {Command}")}");
}

/// <summary>Another live process writes into the folder.</summary>
internal sealed class FolderInUseException(string directory, LockHolder? holder) : FmnistException(
    $"{directory}: in use by another fmnist ({holder?.ToString() ?? "holder unknown"}); wait for it to finish or choose another folder")
{
    public LockHolder? Holder { get; } = holder;
}

/// <summary>
/// One writer per output folder, as databases lock their data directory: an exclusive lock on
/// FOLDER/.fmnist.lock for as long as the process writes there. The lock itself is the operating system's
/// (FileShare.None: flock on Linux), so it dies with its process, whatever killed it; the file's text
/// (pid, host, start, command) only names the holder in the refusal. A lock file whose text survived its
/// process (SIGKILL, power loss) is simply taken over, and <see cref="TookOverFrom"/> says from whom.
/// </summary>
internal sealed class FolderLock : IDisposable
{
    public const string FileName = ".fmnist.lock";
    private readonly FileStream _stream;

    private FolderLock(FileStream stream, LockHolder? previous)
    {
        _stream = stream;
        TookOverFrom = previous;
    }

    /// <summary>The holder a previous process left in the lock file when it died without releasing it.</summary>
    public LockHolder? TookOverFrom { get; }

    /// <summary>Creates <paramref name="directory"/> when needed and locks it, or refuses with the holder named.</summary>
    public static FolderLock Acquire(string directory)
    {
        var full = Path.GetFullPath(directory);
        if (File.Exists(full)) throw new FmnistException($"{directory}: is a file, not a folder");
        try
        {
            Directory.CreateDirectory(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FmnistException($"{directory}: cannot create the folder ({e.Message.TrimEnd('.')})");
        }
        var path = Path.Combine(full, FileName);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e.HResult == 11) // EWOULDBLOCK: someone holds the lock
        {
            throw new FolderInUseException(full, Parse(Posix.ReadUnlocked(path)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FmnistException($"{path}: cannot create the lock file ({e.Message.TrimEnd('.')})");
        }
        try
        {
            var previous = Parse(new StreamReader(stream, leaveOpen: true).ReadToEnd());
            var me = new LockHolder(Environment.ProcessId, Environment.MachineName, DateTimeOffset.UtcNow, CommandLine());
            stream.SetLength(0);
            stream.Write(JsonSerializer.SerializeToUtf8Bytes(me, JsonFiles.Options));
            stream.Flush(flushToDisk: true);
            return new FolderLock(stream, previous);
        }
        catch (IOException e)
        {
            stream.Dispose();
            throw new FmnistException($"{path}: cannot write the lock file ({e.Message.TrimEnd('.')})");
        }
    }

    /// <summary>Empties the file before letting go, so the next holder knows the lock was released, not abandoned.</summary>
    public void Dispose()
    {
        try
        {
            _stream.SetLength(0);
        }
        catch (IOException)
        {
            // The lock goes with the handle anyway; the next holder just reports a takeover.
        }
        _stream.Dispose();
    }

    private static LockHolder? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            return JsonSerializer.Deserialize<LockHolder>(text, JsonFiles.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string CommandLine()
    {
        // Argument 0 is the program (fmnist.dll under `dotnet`, or the apphost).
        var text = "fmnist " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1));
        return text.Length <= 200 ? text : text[..200] + "...";
    }
}
