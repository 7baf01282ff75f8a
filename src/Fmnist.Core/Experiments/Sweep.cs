using Fmnist.Data;
using Fmnist.Training;

namespace Fmnist.Experiments;

/// <param name="Changes">What the trial sets on top of the sweep's base configuration.</param>
public sealed record SweepTrial(string Name, RunResult Result, bool Skipped, ConfigOverrides? Changes = null);

public sealed record SweepResult(string Directory, IReadOnlyList<SweepTrial> Trials, SweepTrial Best, string BestModelDir);

/// <summary>
/// Runs every trial of a grid as a normal run folder under out/trials/NAME. Finished trials are skipped,
/// an interrupted one resumes; the best by validation accuracy (never test) is copied to out/best_model.
/// </summary>
public static class Sweep
{
    public static SweepResult Run(Dataset data, IReadOnlyList<ConfigOverrides> trials, TrainConfig baseConfig, string outDir,
        Func<string, int, int, ITrainingProgress>? progressFor = null, int? testLimit = null)
    {
        using var folderLock = FolderLock.Acquire(outDir);
        var results = new List<SweepTrial>();
        var configs = trials.Select(t => t.Apply(baseConfig)).ToList();
        if (configs.Any(c => !c.HasValidation))
            throw new FmnistException("a sweep picks its best trial by validation accuracy: the validation fraction must be above 0");
        for (int i = 0; i < configs.Count; i++)
        {
            var name = TrialNames.Of(configs[i], trials[i]);
            var dir = Path.Combine(outDir, "trials", name);
            var progress = progressFor?.Invoke(name, i + 1, configs.Count);
            if (TrainingWorkflow.ReadResult(dir, configs[i]) is { } done)
            {
                progress?.Message($"{name}: finished earlier, skipped");
                results.Add(new SweepTrial(name, done, true, trials[i]));
                continue;
            }
            if (TrainingWorkflow.ReadResult(dir) is not null)
                throw new FmnistException($"{dir}: holds a finished trial with other settings (epochs, limit or preset differ); use another output folder");
            results.Add(new SweepTrial(name, TrainingWorkflow.TrainAndTest(data, configs[i], dir, progress, resume: true, testLimit), false, trials[i]));
        }
        var best = SelectBest(results);
        var bestDir = BestModelDir(outDir);
        CopyRun(best.Result.ModelDir, bestDir);
        var sweep = new SweepResult(Path.GetFullPath(outDir), results, best, Path.GetFullPath(bestDir));
        SweepReport.Write(sweep);
        return sweep;
    }

    public static string BestModelDir(string sweepDir) => Path.Combine(sweepDir, "best_model");

    /// <summary>Highest validation accuracy; the test accuracy plays no part. Ties go to the earlier trial.</summary>
    public static SweepTrial SelectBest(IReadOnlyList<SweepTrial> trials) =>
        trials.Aggregate((best, t) => t.Result.ValAccuracy > best.Result.ValAccuracy ? t : best);

    private static void CopyRun(string from, string to)
    {
        var tmp = to + ".tmp";
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        // Dot files (the trial's lock) are not part of the model.
        foreach (var file in Directory.GetFiles(from).Where(f => !Path.GetFileName(f).StartsWith('.')))
            AtomicFile.Write(Path.Combine(tmp, Path.GetFileName(file)), t => File.Copy(file, t));
        if (Directory.Exists(to)) Directory.Delete(to, true);
        Directory.Move(tmp, to);
    }
}
