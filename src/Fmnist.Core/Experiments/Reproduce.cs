using System.Diagnostics;
using Fmnist.Data;
using Fmnist.Models.Knn;
using Fmnist.Training;

namespace Fmnist.Experiments;

internal sealed record ReproduceOptions
{
    public string OutDir { get; init; } = Path.Combine("runs", "reproduce");
    public string? DataDir { get; init; }
    public bool Quick { get; init; }
    public bool FullSweep { get; init; }
    /// <summary>The grid of --full-sweep; null for the seed's own grid, which the library embeds.</summary>
    public string? GridPath { get; init; }
    public int QuickTrainLimit { get; init; } = 12000;
    public int QuickEpochs { get; init; } = 3;

    /// <summary>How a person redoes each step by hand, shown in the report; supplied by the caller, which
    /// knows its own command line (the library does not). Empty when null.</summary>
    public Func<ReproduceStep, string>? CommandFor { get; init; }

    public string ExamplesPath => Path.Combine(OutDir, "examples.png");
    public string CnnDir => Path.Combine(OutDir, "cnn-seed");
    public string SweepDir => Path.Combine(OutDir, "sweep");
    /// <summary>The model the report evaluates: the seed's best row, or the sweep's best trial.</summary>
    public string BestModelDir => FullSweep ? Sweep.BestModelDir(SweepDir) : CnnDir;
}

/// <summary>The steps of the main job, for <see cref="ReproduceOptions.CommandFor"/>; Full is the whole job without --quick.</summary>
internal enum ReproduceStep { Data, Knn, KnnTune, Train, Sweep, Evaluate, Full }

/// <summary>How the pipeline reports which step runs and how long the rest should take.</summary>
internal interface IStepProgress
{
    void StepStarted(int step, int steps, string name, TimeSpan estimate, TimeSpan remaining);
    void StepDone(int step, string name, TimeSpan took);
    ITrainingProgress Training(string label);
}

/// <summary>
/// The main job: data check, the KNN table (and a tuned KNN), the seed's best CNN+LSTM (or its whole grid),
/// evaluation, and report.md. Every step's output lands in the out folder; a finished training run found
/// there is reused, an interrupted one resumes.
/// </summary>
internal static class Reproduce
{
    public static ReproduceResults Run(ReproduceOptions o, IStepProgress progress)
    {
        using var folderLock = FolderLock.Acquire(o.OutDir);
        var steps = new List<StepTiming>();
        var seed = Presets.Get("seed");
        var baseConfig = o.Quick ? seed with { TrainLimit = o.QuickTrainLimit, Epochs = o.QuickEpochs } : seed;
        var trials = o.FullSweep ? (o.GridPath is null ? SweepGrid.Seed() : SweepGrid.Load(o.GridPath)).Expand() : [new ConfigOverrides()];
        // Estimates from this machine's own speed (a few seconds), never from another CPU's figures.
        var speed = SpeedProbe.Measure(baseConfig);
        double trainEstimate = trials.Sum(t => speed.TrainingSeconds(t.Apply(baseConfig)));
        var names = new List<(string Name, double Estimate)> { ("check the data", 3), ("KNN table", speed.KnnTableSeconds(60000, 10000)) };
        if (!o.Quick) names.Add(("tune the KNN on validation", speed.KnnTuneSeconds(60000, 10000)));
        names.Add((o.FullSweep ? $"train the seed's grid ({trials.Count} trials)" : "train the seed's best CNN+LSTM", trainEstimate));
        names.Add(("evaluate and write the report", 10));
        int stepIndex = 0;
        T Step<T>(string command, Func<T> body)
        {
            var (name, estimate) = names[stepIndex];
            progress.StepStarted(stepIndex + 1, names.Count, name, TimeSpan.FromSeconds(estimate),
                TimeSpan.FromSeconds(names.Skip(stepIndex).Sum(n => n.Estimate)));
            var watch = Stopwatch.StartNew();
            var result = body();
            steps.Add(new StepTiming(name, watch.Elapsed.TotalSeconds, command));
            progress.StepDone(stepIndex + 1, name, watch.Elapsed);
            stepIndex++;
            return result;
        }

        string Command(ReproduceStep step) => o.CommandFor?.Invoke(step) ?? "";
        var (data, summary) = Step(Command(ReproduceStep.Data), () =>
        {
            var location = new DataLocator().Locate(o.DataDir);
            var d = DataFiles.Load(location.Directory);
            var official = DataFiles.Checksums(location.Directory).All(c => c.OfficialContent);
            Reports.Plots.SavePreviewByClass(d.Train.Images, d.Train.Labels, ClassNames.All, 10, o.ExamplesPath);
            return (d, new DataSummary(location.Directory, location.Source, d.Train.Count, d.Test.Count, official));
        });

        var knn = Step(Command(ReproduceStep.Knn), () =>
        {
            var run = KnnClassifier.Run(data.Train, data.Test, new KnnOptions(KnnOptions.SeedKs));
            return new KnnSummary(run.Threshold, run.Train, run.Test, run.Results.Select(s => (s.K, s.Accuracy)).ToList(), run.Seconds);
        });

        KnnTuning? tuned = o.Quick ? null : Step(Command(ReproduceStep.KnnTune), () =>
            KnnTuner.Tune(data.Train, data.Test, KnnTuner.DefaultThresholds, KnnTuner.DefaultKs));

        var (runs, best) = Step(Command(o.FullSweep ? ReproduceStep.Sweep : ReproduceStep.Train), () =>
        {
            if (o.FullSweep)
            {
                var sweep = Sweep.Run(data, trials, baseConfig, o.SweepDir, (name, i, n) => progress.Training($"[{i}/{n} {name}] "));
                return (sweep.Trials.Select(t => t.Result).ToList(), sweep.Best.Result);
            }
            var result = TrainingWorkflow.ReadResult(o.CnnDir, baseConfig)
                ?? TrainingWorkflow.TrainAndTest(data, baseConfig, o.CnnDir, progress.Training(""), resume: true);
            TrainingWorkflow.EnsureCalibrated(result.ModelDir, data.Train);
            return ((IReadOnlyList<RunResult>)[result], result);
        });

        var final = Step(Command(ReproduceStep.Evaluate), () =>
        {
            var report = EvaluationWorkflow.Evaluate(best.ModelDir, data.Test, o.OutDir);
            AtomicFile.Write(Path.Combine(o.OutDir, "curves.png"), tmp => File.Copy(new RunFolder(best.ModelDir).CurvesPath, tmp));
            return new ReproduceResults
            {
                Quick = o.Quick,
                FullCommand = Command(ReproduceStep.Full),
                QuickNote = o.Quick ? $"The CNN+LSTM was trained on the first {o.QuickTrainLimit:N0} training images for {o.QuickEpochs} epochs (the seed: 60,000 images, 10 epochs); the KNN tuning step was skipped." : "",
                Date = DateTimeOffset.UtcNow,
                Machine = MachineInfo.Current(),
                Data = summary,
                Knn = knn,
                KnnTuned = tuned,
                CnnRuns = runs,
                BestCnn = best,
                BestMetrics = report.Metrics,
                Calibration = report.Calibration,
                Steps = steps, // the evaluate step's own timing is added when it returns, before the report is written
            };
        });
        AtomicFile.WriteAllText(Path.Combine(o.OutDir, "report.md"), ReproduceReport.Render(final));
        return final;
    }
}
