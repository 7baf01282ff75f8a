using Fmnist.Data;
using Fmnist.Experiments.Search;
using Fmnist.Training;

namespace Fmnist.Experiments;

/// <param name="Changes">What the trial sets on top of the sweep's base configuration.</param>
/// <param name="Outcome">Finished (trained to its epochs and tested), or stopped at a rung by successive halving
/// (its test accuracy then NaN: the test set is scored for finished trials only), or diverged.</param>
internal sealed record SweepTrial(string Name, RunResult Result, bool Skipped, ConfigOverrides? Changes = null,
    TrialOutcome Outcome = TrialOutcome.Finished);

internal sealed record SweepResult(string Directory, IReadOnlyList<SweepTrial> Trials, SweepTrial Best, string BestModelDir);

/// <summary>
/// Runs every trial of a sweep as a normal run folder under out/trials/NAME. Finished trials are skipped,
/// an interrupted one resumes; the best by validation accuracy (never test) is copied to out/best_model.
/// The trials run through the same claim files as workers (<see cref="SearchRunner"/>), so one in-process
/// sweep, array tasks and workers can share a folder.
/// </summary>
internal static class Sweep
{
    public static SweepResult Run(Dataset data, IReadOnlyList<ConfigOverrides> trials, TrainConfig baseConfig, string outDir,
        Func<string, int, int, ITrainingProgress>? progressFor = null, int? testLimit = null) =>
        Run(data, SearchPlan.Create(trials, baseConfig, testLimit: testLimit), outDir,
            progressFor is null ? null : job => progressFor(job.Trial.Name, job.Trial.Index + 1, trials.Count));

    /// <summary>Runs the whole search in this process (waiting for jobs other workers hold), then collects it.</summary>
    public static SweepResult Run(Dataset data, SearchPlan plan, string outDir, Func<SearchJob, ITrainingProgress>? progressFor = null,
        TimeSpan? staleAfter = null, Action<string>? log = null)
    {
        // One in-process sweep per folder (a second is refused, naming the holder). Workers and array tasks do not
        // take this lock: they share the folder by design, each trial's run folder being locked on its own.
        using var folderLock = FolderLock.Acquire(outDir);
        var report = new SearchRunner(plan, outDir, () => data,
            new WorkerOptions(staleAfter ?? WorkerOptions.DefaultStaleAfter, ProgressFor: progressFor, Log: log)).Run();
        return Collect(plan, outDir, report.Ran.Select(r => r.Trial).ToHashSet());
    }

    /// <summary>
    /// The table of a complete search (sweep.md/csv/json, val_curves.png) and its best finished trial,
    /// copied to best_model/. <paramref name="ranHere"/>: trials this process trained (the others are "skipped").
    /// </summary>
    public static SweepResult Collect(SearchPlan plan, string outDir, IReadOnlySet<int>? ranHere = null)
    {
        var state = SearchState.Read(plan, outDir, new ClaimStore(outDir, WorkerOptions.DefaultStaleAfter));
        if (!state.Complete)
        {
            var open = state.Trials.Where(p => state.Outcomes[p.Trial.Index] == TrialOutcome.Pending).Select(p => $"{p.Trial.Index} {p.Trial.Name}").ToList();
            throw new FmnistException($"{Path.GetFullPath(outDir)}: the search is not complete: {open.Count} of {plan.Trials.Count} trials unfinished " +
                                      $"({string.Join(", ", open.Take(5))}{(open.Count > 5 ? ", ..." : "")}); run workers or the missing trials first");
        }
        var results = state.Trials.Select(p => new SweepTrial(p.Trial.Name, p.Result ?? Partial(p, outDir), ranHere?.Contains(p.Trial.Index) != true,
            p.Trial.Changes, state.Outcomes[p.Trial.Index])).ToList();
        var finished = results.Where(t => t.Outcome == TrialOutcome.Finished).ToList();
        if (finished.Count == 0) throw new FmnistException($"{Path.GetFullPath(outDir)}: no trial finished (all diverged); try lower learning rates");
        var best = SelectBest(finished);
        var bestDir = BestModelDir(outDir);
        CopyRun(best.Result.ModelDir, bestDir);
        var sweep = new SweepResult(Path.GetFullPath(outDir), results, best, Path.GetFullPath(bestDir));
        SweepReport.Write(sweep);
        return sweep;
    }

    /// <summary>A stopped or diverged trial's row: its epochs so far, no test score.</summary>
    private static RunResult Partial(TrialProgress p, string outDir)
    {
        var best = p.History.Where(h => h.ValAccuracy is not null).OrderByDescending(h => h.ValAccuracy).ThenBy(h => h.Epoch).FirstOrDefault();
        return new RunResult(Path.GetFullPath(SearchState.TrialDir(outDir, p.Trial)), p.Trial.Config, best?.Epoch ?? 0, best?.ValAccuracy, double.NaN,
            p.Seconds, 0, 0, 0, p.History);
    }

    public static string BestModelDir(string sweepDir) => Path.Combine(sweepDir, "best_model");

    /// <summary>Highest validation accuracy; the test accuracy plays no part. Ties go to the earlier trial.</summary>
    public static SweepTrial SelectBest(IReadOnlyList<SweepTrial> trials) =>
        trials.Aggregate((best, t) => t.Result.ValAccuracy > best.Result.ValAccuracy ? t : best);

    private static void CopyRun(string from, string to)
    {
        // A temporary folder of this process's own: two collects at once must not share one.
        var tmp = $"{to}.{Environment.ProcessId}.{Guid.NewGuid().ToString("N")[..6]}.tmp";
        Directory.CreateDirectory(tmp);
        // Dot files (the trial's lock) are not part of the model.
        foreach (var file in Directory.GetFiles(from).Where(f => !Path.GetFileName(f).StartsWith('.')))
            AtomicFile.Write(Path.Combine(tmp, Path.GetFileName(file)), t => File.Copy(file, t));
        if (Directory.Exists(to)) Directory.Delete(to, true);
        Directory.Move(tmp, to);
    }
}
