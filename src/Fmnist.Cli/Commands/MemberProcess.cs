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
        Action<string>? onLine = null)
    {
        Directory.CreateDirectory(memberDir);
        var settings = Path.Combine(memberDir, "member-settings.json");
        config.WriteFile(settings);
        var start = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // `dotnet fmnist.dll ...` when run through the launcher, or the apphost itself
        var self = Environment.ProcessPath ?? "dotnet";
        start.FileName = self;
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(MemberProcess).Assembly.Location);
        string[] args = ["train", "--config", settings, "--out", memberDir, "--data-dir", dataDir, "--threads", threads.ToString(), "--json"];
        foreach (var a in args) start.ArgumentList.Add(a);
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
        process.WaitForExit();
        stdout.Wait();
        lock (lines) File.WriteAllLines(log, lines);
        if (process.ExitCode != 0)
        {
            string last;
            lock (lines) last = lines.LastOrDefault(l => l.Trim().Length > 0) ?? "no output";
            throw new FmnistException($"{memberDir}: member training failed (exit {process.ExitCode}): {last.Trim()} (log: {log})");
        }
        return TrainingWorkflow.ReadResult(memberDir) ?? throw new FmnistException($"{memberDir}: the member finished without result.json (log: {log})");
    }
}
