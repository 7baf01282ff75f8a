using System.Diagnostics;
using System.Text.Json;

namespace Fmnist.Tests;

/// <summary>The `fmnist` command (the build beside the tests) or another program, run as a real process.</summary>
public sealed class SweepProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stdout, _stderr;

    /// <summary>fmnist.dll of the build the tests run from, started with `dotnet`.</summary>
    public static string Dll { get; } = Path.Combine(AppContext.BaseDirectory, "fmnist.dll");

    private SweepProcess(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // Array task ids of a surrounding job must not leak into the processes a test starts.
        psi.Environment.Remove("SLURM_ARRAY_TASK_ID");
        psi.Environment.Remove("JOB_COMPLETION_INDEX");
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        _process = Process.Start(psi)!;
        _stdout = _process.StandardOutput.ReadToEndAsync();
        _stderr = _process.StandardError.ReadToEndAsync();
    }

    public int Id => _process.Id;

    public static SweepProcess Fmnist(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null) => new("dotnet", [Dll, .. args], env);

    public static SweepProcess Start(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null) => new(file, args, env);

    public static (int Code, string Out, string Err) Run(IEnumerable<string> args, TimeSpan? timeout = null)
    {
        using var p = Fmnist(args);
        return p.Wait(timeout ?? TimeSpan.FromMinutes(5));
    }

    public (int Code, string Out, string Err) Wait(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{_process.StartInfo.FileName} {string.Join(' ', _process.StartInfo.ArgumentList)}: still running after {timeout}; stderr: {Tail(_stderr)}");
        }
        return (_process.ExitCode, _stdout.Result, _stderr.Result);
    }

    /// <summary>SIGKILL: the process gets no chance to tidy up, as when a machine or job dies.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public static JsonElement Json(string stdout) => JsonDocument.Parse(stdout).RootElement;

    private static string Tail(Task<string> text) => text.IsCompleted ? text.Result[Math.Max(0, text.Result.Length - 2000)..] : "(still open)";

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
