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
    public static RunResult Train(Training.TrainConfig config, string memberDir, bool resume, string dataDir, int threads, int? testLimit)
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
        using var process = Process.Start(start) ?? throw new FmnistException($"{memberDir}: could not start a training process");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        File.WriteAllText(log, stderr.Result);
        if (process.ExitCode != 0)
        {
            var last = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "no output";
            throw new FmnistException($"{memberDir}: member training failed (exit {process.ExitCode}): {last.Trim()} (log: {log})");
        }
        return TrainingWorkflow.ReadResult(memberDir) ?? throw new FmnistException($"{memberDir}: the member finished without result.json (log: {log})");
    }
}
