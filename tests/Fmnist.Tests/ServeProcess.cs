using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Fmnist.Tests;

/// <summary>
/// `fmnist serve` (or any long-running fmnist command) as a real child process, for
/// what must be seen from outside: signals, exit codes, a process that stops by itself.
/// </summary>
public sealed partial class ServeProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;

    private ServeProcess(Process process)
    {
        _process = process;
        _stderr = process.StandardError.ReadToEndAsync();
    }

    public int Id => _process.Id;
    public StreamReader Stdout => _process.StandardOutput;

    /// <param name="unset">Environment variables the child must not inherit.</param>
    public static ServeProcess Start(IEnumerable<string> args, params string[] unset)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var psi = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = TestData.TempDir(),
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "fmnist.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var name in unset) psi.Environment.Remove(name);
        return new ServeProcess(Process.Start(psi)!);
    }

    /// <summary>Waits for the process to end; kills it (and fails) when it outlives <paramref name="timeout"/>.</summary>
    public async Task<(int Code, string Err)> ExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            Assert.Fail($"fmnist did not exit within {timeout.TotalSeconds} s; stderr: {await _stderr}");
        }
        return (_process.ExitCode, await _stderr);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);

    /// <summary>SIGTERM, as `kill`, systemd or a container runtime sends to stop a service.</summary>
    public void Terminate()
    {
        const int sigterm = 15;
        Assert.Equal(0, kill(_process.Id, sigterm));
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
