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

    /// <summary>The most resident memory the process has had so far (VmHWM), in MB.</summary>
    public double PeakResidentMb()
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
    }
    public StreamReader Stdout => _process.StandardOutput;

    /// <param name="unset">Environment variables the child must not inherit.</param>
    public static ServeProcess Start(IEnumerable<string> args, params string[] unset) => StartIn(TestData.TempDir(), args, unset);

    /// <summary>As <see cref="Start"/>, in <paramref name="workingDirectory"/> (where `serve` looks for runs/).</summary>
    public static ServeProcess StartIn(string workingDirectory, IEnumerable<string> args, params string[] unset)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var psi = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "fmnist.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var name in unset) psi.Environment.Remove(name);
        return new ServeProcess(Process.Start(psi)!);
    }

    /// <summary>The one JSON object `serve --json` prints once it listens.</summary>
    public async Task<System.Text.Json.JsonElement> ReadJsonAsync()
    {
        var text = new System.Text.StringBuilder();
        while (await Stdout.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120)) is { } line)
        {
            text.AppendLine(line);
            if (line == "}") return System.Text.Json.JsonDocument.Parse(text.ToString()).RootElement;
        }
        var (code, err) = await ExitAsync(TimeSpan.FromSeconds(10));
        Assert.Fail($"fmnist serve exited ({code}) before listening: {err}");
        return default;
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
