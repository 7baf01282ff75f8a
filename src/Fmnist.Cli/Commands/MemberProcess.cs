using System.Diagnostics;
using Fmnist.Experiments;

namespace Fmnist.Cli.Commands;

/// <summary>
/// One ensemble member trained by a child `fmnist train` (this same program) with its own libtorch threads:
/// members side by side in processes of one thread each, instead of one process whose operations share
/// the cores. Its settings travel as a config file, its output goes to train.log in its folder.
/// </summary>
internal static class MemberProcess
{
    /// <param name="onLine">Each line the child prints on stderr (its epoch lines), as it comes.</param>
    public static RunResult Train(Training.TrainConfig config, string memberDir, bool resume, string dataDir, int threads, int? testLimit,
        Action<string>? onLine = null, CancellationToken stop = default)
    {
        Directory.CreateDirectory(memberDir);
        var settings = Path.Combine(memberDir, "member-settings.json");
        config.WriteFile(settings);
        var start = Self("train", "--config", settings, "--out", memberDir, "--data-dir", dataDir, "--threads", threads.ToString(), "--json");
        if (resume) start.ArgumentList.Add("--resume");
        if (testLimit is { } t) { start.ArgumentList.Add("--test-limit"); start.ArgumentList.Add(t.ToString()); }
        var log = Path.Combine(memberDir, "train.log");
        var lines = new List<string>();
        using var process = new Process { StartInfo = start };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (lines) lines.Add(e.Data);
            onLine?.Invoke(e.Data);
        };
        if (!process.Start()) throw new FmnistException($"{memberDir}: could not start a training process");
        process.BeginErrorReadLine();
        var stdout = process.StandardOutput.ReadToEndAsync(); // the child's --json result, unused: result.json has it
        using (stop.Register(() => { try { process.Kill(); } catch (InvalidOperationException) { } })) // already gone
            process.WaitForExit();
        stdout.Wait();
        lock (lines) File.WriteAllLines(log, lines);
        stop.ThrowIfCancellationRequested();
        if (process.ExitCode != 0)
        {
            string last;
            lock (lines) last = lines.LastOrDefault(l => l.Trim().Length > 0) ?? "no output";
            throw new FmnistException($"{memberDir}: member training failed (exit {process.ExitCode}): {last.Trim()} (log: {log})");
        }
        return TrainingWorkflow.ReadResult(memberDir) ?? throw new FmnistException($"{memberDir}: the member finished without result.json (log: {log})");
    }

    /// <summary>This same program with the given arguments, its output redirected: `dotnet fmnist.dll ...` when
    /// run through the launcher, or the apphost itself.</summary>
    private static ProcessStartInfo Self(params string[] args)
    {
        var start = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var self = Environment.ProcessPath ?? "dotnet";
        start.FileName = self;
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(MemberProcess).Assembly.Location);
        foreach (var a in args) start.ArgumentList.Add(a);
        return start;
    }

    /// <summary>Training images per second of one member as it will run: a child `fmnist bench train` of a few
    /// steps with the member's threads (what `--time-budget` plans with).</summary>
    public static double MeasureRate(Training.TrainConfig config, string dataDir, int threads)
    {
        var settings = Path.Combine(Path.GetTempPath(), $"fmnist-probe-{Environment.ProcessId}.json");
        config.WriteFile(settings);
        try
        {
            var start = Self("bench", "train", "--config", settings, "--data-dir", dataDir, "--threads", threads.ToString(),
                "--steps", "4", "--train-limit", "2048", "--json");
            using var process = Process.Start(start) ?? throw new FmnistException("could not start a process to measure the training speed");
            var stderr = process.StandardError.ReadToEndAsync();
            string stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new FmnistException($"measuring the training speed failed (exit {process.ExitCode}): {stderr.Result.Trim().Split('\n').LastOrDefault()}");
            using var doc = System.Text.Json.JsonDocument.Parse(stdout);
            return doc.RootElement.GetProperty("images_per_second").GetDouble();
        }
        finally
        {
            File.Delete(settings);
        }
    }
}
