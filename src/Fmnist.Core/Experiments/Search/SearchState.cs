using Fmnist.Training;

namespace Fmnist.Experiments.Search;

/// <summary>Where a trial stands: still to run, trained to the full epochs, stopped at a rung by halving, or diverged.</summary>
internal enum TrialOutcome { Pending, Finished, Stopped, Diverged }

/// <summary>One unit of work: trial <see cref="Trial"/> trained from the previous stage's epoch to this stage's.</summary>
internal sealed record SearchJob(PlannedTrial Trial, int Stage, int FromEpoch, int ToEpoch)
{
    /// <summary>The claim files' name for the job, e.g. b256-d0.4-0.5-lstm256-dense128.s0.</summary>
    public string Key => $"{Trial.Name}.s{Stage}";
}

/// <summary>What a trial's run folder says: the epochs trained so far and, once tested, its result.</summary>
/// <param name="Diverged">The message of the trial's divergence, recorded in its claim.</param>
internal sealed record TrialProgress(PlannedTrial Trial, IReadOnlyList<EpochRecord> History, double Seconds, RunResult? Result, string? Diverged)
{
    public int EpochsDone => History.Count == 0 ? 0 : History[^1].Epoch;

    /// <summary>Best validation accuracy up to <paramref name="epoch"/>: the trial's score at a rung.</summary>
    public double? ScoreAt(int epoch) => History.Where(h => h.Epoch <= epoch).Max(h => h.ValAccuracy);
}

/// <summary>
/// A sweep folder read at one moment: every trial's progress, the jobs that can run now, and whether the
/// search is complete. It is computed from the run folders alone (plus divergences noted in claims), so
/// any process reading the same folder comes to the same promotions.
/// </summary>
internal sealed class SearchState
{
    private SearchState(SearchPlan plan, IReadOnlyList<TrialProgress> trials, IReadOnlyList<SearchJob> runnable,
        IReadOnlyList<TrialOutcome> outcomes, bool complete, string waitingFor)
        => (Plan, Trials, Runnable, Outcomes, Complete, WaitingFor) = (plan, trials, runnable, outcomes, complete, waitingFor);

    public SearchPlan Plan { get; }
    public IReadOnlyList<TrialProgress> Trials { get; }

    /// <summary>Jobs whose turn has come (claimed ones included): later stages first, so promising trials finish early.</summary>
    public IReadOnlyList<SearchJob> Runnable { get; }

    public IReadOnlyList<TrialOutcome> Outcomes { get; }
    public bool Complete { get; }

    /// <summary>When jobs wait for a rung to be decided: which rung, and how many trials have reached it.</summary>
    public string WaitingFor { get; }

    public static string TrialDir(string sweepDir, PlannedTrial t) => Path.Combine(sweepDir, "trials", t.Name);

    public static SearchState Read(SearchPlan plan, string sweepDir, ClaimStore claims)
    {
        var allClaims = claims.All();
        var trials = plan.Trials.Select(t => ReadTrial(t, TrialDir(sweepDir, t), plan, allClaims)).ToList();
        var runnable = new List<SearchJob>();
        var cut = new Dictionary<int, int>(); // trial -> epoch of the rung it was stopped at
        IReadOnlyList<int> inStage = plan.Trials.Select(t => t.Index).ToList();
        bool complete = false;
        string waiting = "";
        for (int stage = 0; stage < plan.Stages; stage++)
        {
            int reported = 0;
            foreach (var i in inStage)
            {
                var p = trials[i];
                int end = plan.StageEnd(p.Trial, stage);
                bool done = p.Diverged is not null || (stage == plan.Stages - 1 ? p.Result is not null : p.EpochsDone >= end);
                if (done) reported++;
                else runnable.Add(new SearchJob(p.Trial, stage, stage == 0 ? 0 : plan.StageEnd(p.Trial, stage - 1), end));
            }
            if (reported < inStage.Count)
            {
                if (stage < plan.Stages - 1) waiting = $"rung {stage + 1} (epoch {plan.Halving!.Rungs[stage]}): {reported} of {inStage.Count} trials reported";
                break;
            }
            if (stage == plan.Stages - 1)
            {
                complete = true;
                break;
            }
            int rung = plan.Halving!.Rungs[stage];
            var promoted = plan.Halving.Promote(inStage.Select(i => (i, trials[i].Diverged is null ? trials[i].ScoreAt(rung) : null)).ToList());
            foreach (var i in inStage.Except(promoted)) cut[i] = rung;
            inStage = promoted;
        }
        var outcomes = trials.Select(p => p.Diverged is not null ? TrialOutcome.Diverged
            : p.Result is not null ? TrialOutcome.Finished
            : cut.ContainsKey(p.Trial.Index) ? TrialOutcome.Stopped
            : TrialOutcome.Pending).ToList();
        return new SearchState(plan, trials, runnable.OrderByDescending(j => j.Stage).ThenBy(j => j.Trial.Index).ToList(), outcomes, complete, waiting);
    }

    private static TrialProgress ReadTrial(PlannedTrial t, string dir, SearchPlan plan, IReadOnlyDictionary<string, IReadOnlyList<ClaimStore.Entry>> claims)
    {
        string? diverged = Enumerable.Range(0, plan.Stages)
            .Select(s => claims.GetValueOrDefault(new SearchJob(t, s, 0, 0).Key)?.LastOrDefault()?.Info)
            .FirstOrDefault(c => c?.Outcome == "diverged")?.Message;
        var folder = new RunFolder(dir);
        if (!File.Exists(folder.ConfigPath)) return new TrialProgress(t, [], 0, null, diverged);
        if (JsonFiles.Serialize(folder.ReadInfo().Config) != JsonFiles.Serialize(t.Config))
            throw new FmnistException($"{dir}: holds a trial with other settings (epochs, limit or preset differ); use another output folder");
        if (TrainingWorkflow.ReadResult(dir, t.Config) is { } done)
            return new TrialProgress(t, done.History, done.Seconds, done, diverged);
        if (!File.Exists(folder.StatePath)) return new TrialProgress(t, [], 0, null, diverged);
        var state = JsonFiles.Read<CheckpointState>(folder.StatePath);
        return new TrialProgress(t, state.History, state.Seconds, null, diverged);
    }
}
