using System.Diagnostics;
using System.Text;

namespace Fmnist.Tests;

/// <summary>
/// The real `fmnist` as a child process (`dotnet fmnist.dll` from this test's output folder, where the build
/// copies the CLI), for what only a separate process shows: environment knobs the .NET runtime reads at start,
/// SIGKILL, an operating-system lock held by another pid, a file-size limit, exit codes.
/// </summary>
public sealed class CliProcess : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);
    private readonly Process _process;
    private readonly StringBuilder _out = new(), _err = new();

    private CliProcess(ProcessStartInfo psi)
    {
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) => { lock (_out) if (e.Data is not null) _out.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_err) if (e.Data is not null) _err.AppendLine(e.Data); };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static string Dll => Path.Combine(AppContext.BaseDirectory, "fmnist.dll");

    public int Pid => _process.Id;

    public string Err
    {
        get { lock (_err) return _err.ToString(); }
    }

    /// <summary>What it printed so far, both streams (progress goes to stdout unless --json).</summary>
    public string Printed
    {
        get
        {
            lock (_out) return _out + Err;
        }
    }

    public static CliProcess Start(params string[] args) => Start(null, args);

    public static CliProcess Start(IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet");
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        return new CliProcess(psi);
    }

    /// <summary>Under `ulimit -f KB`: no file it writes may grow beyond that.</summary>
    public static CliProcess StartWithFileSizeLimit(int kilobytes, params string[] args)
    {
        var psi = new ProcessStartInfo("bash");
        foreach (var a in new[] { "-c", $"ulimit -f {kilobytes}; exec dotnet \"$0\" \"$@\"", Dll }.Concat(args)) psi.ArgumentList.Add(a);
        // The runtime's W^X double mapping sizes a memory file, which the limit would also cap: it would not start.
        psi.Environment["DOTNET_EnableWriteXorExecute"] = "0";
        return new CliProcess(psi);
    }

    /// <summary>Runs to the end (killed after three minutes, failing the test).</summary>
    public static (int Code, string Out, string Err) Run(params string[] args) => Run(null, args);

    public static (int Code, string Out, string Err) Run(IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        using var p = Start(env, args);
        return p.Wait();
    }

    public (int Code, string Out, string Err) Wait()
    {
        if (!_process.WaitForExit(Patience))
        {
            Kill();
            throw new TimeoutException($"fmnist did not finish within {Patience.TotalMinutes} minutes: {Err}");
        }
        _process.WaitForExit(); // drains the output readers
        lock (_out) return (_process.ExitCode, _out.ToString(), Err);
    }

    /// <summary>SIGKILL: no handler runs, no file is closed cleanly, exactly like a crash or the OOM killer.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill();
        _process.WaitForExit();
    }

    /// <summary>Polls until <paramref name="condition"/> holds; false when the process ended first or time ran out.</summary>
    public bool WaitUntil(Func<bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < Patience)
        {
            if (condition()) return true;
            if (_process.HasExited) return condition();
            Thread.Sleep(20);
        }
        return false;
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    /// <summary>A small real-data dataset folder (the first images of each split), quick for a child process to load.</summary>
    public static string SmallDataset(int train, int test) =>
        TestData.WriteDataset(TestData.Fashion.Train.Take(train), TestData.Fashion.Test.Take(test));
}
