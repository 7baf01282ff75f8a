using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Fmnist.Tests;

/// <summary>
/// The built `fmnist` CLI as a real child process (the fmnist.dll next to the tests, run by the same dotnet), for
/// what must be seen from outside: signals, exit codes, a process that stops by itself.
/// </summary>
public sealed partial class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;

    private CliProcess(Process process)
    {
        _process = process;
        _stderr = process.StandardError.ReadToEndAsync();
    }

    public int Id => _process.Id;
    public StreamReader Stdout => _process.StandardOutput;

    /// <param name="unset">Environment variables the child must not inherit.</param>
    public static CliProcess Start(IEnumerable<string> args, params string[] unset)
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
        return new CliProcess(Process.Start(psi)!);
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

    /// <summary>Runs fmnist to its end with extra environment variables (knobs the .NET runtime reads at start).</summary>
    public static (int Code, string Out, string Err) Run(IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "fmnist.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"fmnist {string.Join(' ', args)} did not finish in 3 minutes");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
