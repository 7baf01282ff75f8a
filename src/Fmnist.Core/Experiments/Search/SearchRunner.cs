using System.Diagnostics;
using Fmnist.Data;
using Fmnist.Training;

namespace Fmnist.Experiments.Search;

/// <summary>What one job run by this process came to.</summary>
internal sealed record JobRun(int Trial, string Name, int Stage, int FromEpoch, int ToEpoch, string Outcome, double Seconds);

/// <summary>What a worker did, and where the search stands after it.</summary>
internal sealed record WorkerReport(IReadOnlyList<JobRun> Ran, bool Complete, int Pending, string Note);

/// <param name="OnlyTrial">Run this trial's jobs only (<c>--trial-index</c>).</param>
/// <param name="WaitForRungs">When no job may run yet because a rung is undecided, wait for other workers to decide it
/// (a worker) instead of returning (an array task: it must not hold its slot while the trials it waits for queue
/// behind it). Jobs that another live worker holds are always waited for: that worker may die.</param>
internal sealed record WorkerOptions(TimeSpan StaleAfter, int? OnlyTrial = null, bool WaitForRungs = true,
    Func<SearchJob, ITrainingProgress>? ProgressFor = null, Action<string>? Log = null)
{
    public static readonly TimeSpan DefaultStaleAfter = TimeSpan.FromSeconds(120);
}

/// <summary>
/// Runs a search's jobs from a shared sweep folder: reads the folder, claims a job whose turn has come,
/// trains it, and reads again, until the search is complete (or, for one trial, until that trial is
/// finished or waits on a rung). Every state it needs is in the folder, so any number of these,
/// in any processes on any machines sharing the folder, run each job once between them.
/// </summary>
internal sealed class SearchRunner(SearchPlan plan, string sweepDir, Func<Dataset> data, WorkerOptions options)
{
    private readonly ClaimStore _claims = new(sweepDir, options.StaleAfter);
    private Dataset? _data;

    public WorkerReport Run()
    {
        if (options.OnlyTrial is { } only && (only < 0 || only >= plan.Trials.Count))
            throw new FmnistException($"trial index {only} is outside the search's trials 0..{plan.Trials.Count - 1}");
        plan.Publish(sweepDir);
        var ran = new List<JobRun>();
        string lastNote = "";
        var poll = TimeSpan.FromTicks(Math.Clamp(options.StaleAfter.Ticks / 4, TimeSpan.FromMilliseconds(200).Ticks, TimeSpan.FromSeconds(5).Ticks));
        while (true)
        {
            var state = SearchState.Read(plan, sweepDir, _claims);
            var mine = state.Runnable.Where(j => options.OnlyTrial is not { } t || j.Trial.Index == t).ToList();
            bool finished = options.OnlyTrial is { } only2 ? state.Outcomes[only2] != TrialOutcome.Pending : state.Complete;
            if (finished) return Report(ran, state, "");
            var job = mine.Select(j => (Job: j, Claim: _claims.TryClaim(j.Key))).FirstOrDefault(c => c.Claim is not null);
            if (job.Claim is { } claim)
            {
                ran.Add(RunJob(job.Job, claim));
                continue;
            }
            var note = mine.Count > 0
                ? $"waiting for {string.Join(", ", mine.Select(j => Holder(j)))}"
                : $"waiting for {state.WaitingFor}";
            if (mine.Count == 0 && !options.WaitForRungs) return Report(ran, state, note);
            if (note != lastNote) options.Log?.Invoke(note);
            lastNote = note;
            Thread.Sleep(poll);
        }
    }

    private string Holder(SearchJob j) =>
        _claims.Claims(j.Key).LastOrDefault()?.Info is { } c ? $"{j.Trial.Name} (stage {j.Stage + 1}, held by {c.Worker})" : $"{j.Trial.Name} (stage {j.Stage + 1})";

    private WorkerReport Report(List<JobRun> ran, SearchState state, string note) =>
        new(ran, state.Complete, state.Outcomes.Count(o => o == TrialOutcome.Pending), note);

    private JobRun RunJob(SearchJob job, Claim claim)
    {
        using var _ = claim;
        var t = job.Trial;
        var dir = SearchState.TrialDir(sweepDir, t);
        // The job may have been finished between reading the folder and claiming it (its holder then ended its claim).
        var now = SearchState.Read(plan, sweepDir, _claims);
        if (!now.Runnable.Any(j => j.Key == job.Key))
        {
            claim.End("already-done", "finished by another worker before this claim");
            return new JobRun(t.Index, t.Name, job.Stage, job.FromEpoch, job.ToEpoch, "already-done", 0);
        }
        bool last = job.Stage == plan.Stages - 1;
        using var stop = new CancellationTokenSource();
        var progress = new StageProgress(options.ProgressFor?.Invoke(job) ?? SilentProgress.Instance, last ? null : job.ToEpoch, claim, stop);
        var watch = Stopwatch.StartNew();
        string outcome;
        try
        {
            _data ??= data();
            TrainAndTest(t.Config, dir, progress, stop.Token);
            outcome = "done";
            claim.End(outcome);
        }
        catch (TrainingStoppedException) when (progress.Stopped == StageProgress.Why.Rung)
        {
            outcome = "done";
            claim.End(outcome);
            progress.Inner.Message($"reached rung epoch {job.ToEpoch}; whether it goes on is decided once every trial of the rung has");
        }
        catch (TrainingStoppedException) when (progress.Stopped == StageProgress.Why.ClaimLost)
        {
            outcome = "lost";
            progress.Inner.Message("another worker took this job over (this one was judged gone); stopped");
        }
        catch (TrainingDivergedException e)
        {
            outcome = "diverged";
            claim.End(outcome, e.Message);
            progress.Inner.Message(e.Message);
        }
        catch (Exception e)
        {
            claim.End("failed", e.Message);
            throw;
        }
        return new JobRun(t.Index, t.Name, job.Stage, job.FromEpoch, job.ToEpoch, outcome, watch.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// The trial's run folder has a lock of its own (one writer per run folder). The process that ran the trial's
    /// previous stage may still hold it for a moment after handing the job on, so a busy folder is retried for a
    /// while before it counts as a failure.
    /// </summary>
    private void TrainAndTest(TrainConfig config, string dir, ITrainingProgress progress, CancellationToken stop)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                TrainingWorkflow.TrainAndTest(_data!, config, dir, progress, resume: true, plan.TestLimit, stop: stop);
                return;
            }
            catch (FolderInUseException) when (waited.Elapsed < TimeSpan.FromSeconds(60))
            {
                Thread.Sleep(250);
            }
        }
    }

    /// <summary>Passes progress on; after each saved epoch, stops the training through its token at the job's rung,
    /// or when the claim was lost (the trainer then ends with <see cref="TrainingStoppedException"/>, checkpoint written).</summary>
    private sealed class StageProgress(ITrainingProgress inner, int? stopAfter, Claim claim, CancellationTokenSource stop) : ITrainingProgress
    {
        public enum Why { None, Rung, ClaimLost }

        public Why Stopped { get; private set; }
        public ITrainingProgress Inner => inner;
        public void Message(string text) => inner.Message(text);
        public void EpochStarted(int epoch, int epochs, int batches) => inner.EpochStarted(epoch, epochs, batches);
        public void BatchDone(int batch, double runningLoss, double imagesPerSecond) => inner.BatchDone(batch, runningLoss, imagesPerSecond);

        // The trainer calls this after the epoch's checkpoint is written and looks at the token right after.
        public void EpochDone(EpochRecord record, bool best)
        {
            inner.EpochDone(record, best);
            if (claim.Lost) Stopped = Why.ClaimLost;
            else if (record.Epoch == stopAfter) Stopped = Why.Rung;
            if (Stopped != Why.None) stop.Cancel();
        }
    }
}
