using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Fmnist;

/// <summary>The two libc calls .NET does not offer: reading a file another process holds locked, and
/// turning the file-size-limit signal into an ordinary write error.</summary>
internal static class Posix
{
    private const int SIGXFSZ = 25, ORdOnly = 0, OCloExec = 0x80000;
    private static readonly IntPtr SigIgn = 1;

    [DllImport("libc", SetLastError = true, EntryPoint = "open")]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "signal")]
    private static extern IntPtr Signal(int signal, IntPtr handler);

    /// <summary>
    /// A write past `ulimit -f` raises SIGXFSZ, whose default action kills the process with no word said.
    /// Ignored (as PostgreSQL does), the write fails with EFBIG instead and the error names the file.
    /// </summary>
    public static void IgnoreFileSizeSignal()
    {
        if (OperatingSystem.IsLinux()) Signal(SIGXFSZ, SigIgn);
    }

    /// <summary>
    /// The file's text, read without the advisory lock .NET takes on every FileStream it opens: that lock
    /// would conflict with the exclusive one its holder keeps. Null when the file cannot be read.
    /// </summary>
    public static string? ReadUnlocked(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        int fd = Open(path, ORdOnly | OCloExec);
        if (fd < 0) return null;
        using var stream = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
