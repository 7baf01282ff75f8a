using System.CommandLine;
using Fmnist.Data;
using Fmnist.Experiments;
using Fmnist.Experiments.Search;
using Fmnist.Training;
using Spectre.Console;

namespace Fmnist.Cli.Commands;

/// <summary>`sweep` and `reproduce`: the seed's tables, measured here.</summary>
internal static class ExperimentCommands
{
    public static Command SweepCommand(CliIo io)
    {
        var dataDir = Common.DataDir();
        var json = Common.Json();
        var grid = new Option<string?>("--grid") { Description = "Sweep file (JSON): trials, axes to cross and/or a space to sample, optionally the preset and shared settings they start from, successive halving; configs/seed-grid.json holds the seed's 8 rows, configs/ablation.json the ResNet recipe's ablation, configs/search.json a sampled search (docs/scale.md) [default: the search already in --out]" };
        var output = new Option<string>("--out") { Description = "Sweep folder (search.json, trials/NAME per trial, claims/, best_model/, sweep.md/csv/json, val_curves.png); may be shared by workers on several machines", DefaultValueFactory = _ => Path.Combine("runs", "sweep") };
        var epochs = new Option<int?>("--epochs") { Description = $"Epochs per trial [default: the grid file's, else its preset's ({Presets.Get("seed").Epochs} for seed)]" };
        var trainLimit = Common.Limit("--train-limit", "training");
        var testLimit = Common.Limit("--test-limit", "test");
        var trials = new Option<int?>("--trials") { Description = "Trials to sample from the file's space [default: the file's \"samples\"]" };
        var samplerSeed = new Option<int?>("--sampler-seed") { Description = $"Seed of the sampler: the same file and seed give the same trials [default: the file's \"sampler_seed\", else {SweepGrid.DefaultSamplerSeed}]" };
        var trialIndex = new Option<int?>("--trial-index") { Description = "Run trial I (0-based) alone, into the shared folder, then exit; given without a number, I is $SLURM_ARRAY_TASK_ID, else $JOB_COMPLETION_INDEX [default: all trials]", Arity = ArgumentArity.ZeroOrOne };
        var worker = new Option<bool>("--worker") { Description = "Claim and run jobs whose turn has come until the search is complete; any number of workers may share --out [default: False]" };
        var collect = new Option<bool>("--collect") { Description = "Train nothing: write the complete search's table and copy its best trial (by validation accuracy) to best_model/ [default: False]" };
        var staleAfter = new Option<double>("--stale-after") { Description = "Seconds without a heartbeat after which a claim of a worker on another machine is retaken (a dead process on this machine is noticed at once)", DefaultValueFactory = _ => WorkerOptions.DefaultStaleAfter.TotalSeconds };
        var command = new Command("sweep", "Train every trial of a grid or sampled search (optionally with successive halving), in this process or as array tasks and workers sharing the folder; finished trials are skipped, an interrupted one resumes; best by validation accuracy")
            { dataDir, json, grid, output, epochs, trainLimit, testLimit, trials, samplerSeed, trialIndex, worker, collect, staleAfter };
        command.SetAction(parse =>
        {
            bool asJson = parse.GetValue(json);
            var outDir = parse.GetValue(output)!;
            bool oneTrial = parse.GetResult(trialIndex) is not null;
            if (new[] { oneTrial, parse.GetValue(worker), parse.GetValue(collect) }.Count(b => b) > 1)
                throw new UsageException("--trial-index, --worker and --collect are different ways to run a sweep: give one of them");
            if (parse.GetValue(staleAfter) is not (> 0 and < 1e6) and var stale) throw new UsageException($"--stale-after must be a positive number of seconds, got {stale}");
            var plan = Plan(parse, grid, outDir, epochs, trainLimit, testLimit, trials, samplerSeed);
            if (parse.GetValue(collect))
            {
                Render(Sweep.Collect(plan, outDir), asJson);
                return 0;
            }
            var lines = asJson ? io.Stderr : io.Stdout;
            ITrainingProgress ProgressFor(SearchJob j) => new TrainingView(io, asJson)
            {
                Prefix = $"[{j.Trial.Index + 1}/{plan.Trials.Count} {j.Trial.Name}{(plan.Stages > 1 ? $", stage {j.Stage + 1}/{plan.Stages}" : "")}] ",
            };
            var options = new WorkerOptions(TimeSpan.FromSeconds(parse.GetValue(staleAfter)), ProgressFor: ProgressFor, Log: m => lines.WriteLine(m));
            Dataset LoadData() => Common.Load(parse.GetValue(dataDir)).Data;
            if (!oneTrial && !parse.GetValue(worker))
            {
                Render(Sweep.Run(LoadData(), plan, outDir, ProgressFor, options.StaleAfter, options.Log), asJson);
                return 0;
            }
            int? only = oneTrial ? TrialIndex(parse.GetValue(trialIndex)) : null;
            var report = new SearchRunner(plan, outDir, LoadData, options with { OnlyTrial = only, WaitForRungs = !oneTrial }).Run();
            if (asJson)
            {
                io.WriteJson(new SweepWorkerJson(
                    Directory: Path.GetFullPath(outDir), Mode: oneTrial ? "trial" : "worker", TrialIndex: only, Worker: ClaimStore.WorkerId,
                    Jobs: report.Ran,
                    Complete: report.Complete, Pending: report.Pending, Note: report.Note), SweepWorkerJson.Schema);
                return 0;
            }
            foreach (var r in report.Ran)
                io.Stdout.WriteLine($"trial {r.Trial} {r.Name}: epochs {r.FromEpoch + 1}-{r.ToEpoch} {r.Outcome} ({r.Seconds:F0} s)");
            io.Stdout.WriteLine(report.Complete
                ? $"The search is complete: `fmnist sweep --collect --out {outDir}` writes its table."
                : $"{report.Pending} of {plan.Trials.Count} trials pending{(report.Note.Length > 0 ? $"; {report.Note}" : "")}." +
                  (oneTrial && plan.Halving is not null ? " Later rungs run in `--worker` processes (or rerun this once every trial has reached the rung)." : ""));
            return 0;
        });
        return command;

        void Render(SweepResult sweep, bool asJson)
        {
            if (asJson)
            {
                io.WriteJson(new SweepJson(
                    Directory: sweep.Directory,
                    Best: sweep.Best.Name,
                    BestModel: sweep.BestModelDir,
                    Trials: [.. sweep.Trials.Select(t => new SweepJson.Trial(t.Name, SweepReport.Describe(t.Changes), SweepReport.Snake(t.Outcome),
                        t.Result.History.Count, t.Result.ValAccuracy, SweepReport.Measured(t.Result.TestAccuracy), SweepReport.SeedAccuracy(t.Result),
                        t.Result.Seconds, t.Skipped))]), SweepJson.Schema);
                return;
            }
            io.Stdout.WriteLine();
            io.Stdout.Write(SweepReport.Markdown(sweep));
            io.Stdout.WriteLine($"Tables and val_curves.png in {sweep.Directory}");
        }
    }

    /// <summary>The search from --grid and its options (published to the folder), or, without --grid, the folder's own.</summary>
    private static SearchPlan Plan(ParseResult parse, Option<string?> grid, string outDir, Option<int?> epochs, Option<int?> trainLimit,
        Option<int?> testLimit, Option<int?> trials, Option<int?> samplerSeed)
    {
        if (parse.GetValue(grid) is not { } gridPath)
        {
            foreach (var o in new Option[] { epochs, trainLimit, testLimit, trials, samplerSeed })
                if (parse.GetResult(o) is not null) throw new UsageException($"{o.Name} needs --grid (without it, the search in {outDir}/search.json is run as it is)");
            return SearchPlan.Read(outDir) ?? throw new UsageException($"--grid is required: {outDir} holds no search yet (no search.json)");
        }
        var file = SweepGrid.Load(gridPath);
        var baseConfig = TrainOptions.Validated(new ConfigOverrides().With("epochs", parse.GetValue(epochs)).With("train_limit", parse.GetValue(trainLimit))
            .Apply(file.BaseConfig()));
        SearchPlan plan;
        try
        {
            plan = SearchPlan.Create(file.AllTrials(parse.GetValue(trials), parse.GetValue(samplerSeed)), baseConfig, file.Halving, parse.GetValue(testLimit));
        }
        catch (FmnistException e)
        {
            throw new FmnistException($"{gridPath}: {e.Message}");
        }
        plan.Publish(outDir);
        return plan;
    }

    /// <summary>--trial-index's number, or the array task's index that Slurm or a Kubernetes Indexed Job sets.</summary>
    private static int TrialIndex(int? given)
    {
        if (given is { } i) return i;
        foreach (var name in new[] { "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX" })
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
                return int.TryParse(value, out int v) ? v : throw new UsageException($"--trial-index: ${name} is '{value}', not a number");
        throw new UsageException("--trial-index without a number takes $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX, and neither is set");
    }

    public static Command ReproduceCommand(CliIo io)
    {
        var dataDir = Common.DataDir();
        var json = Common.Json();
        var quick = new Option<bool>("--quick") { Description = "A few minutes: CNN+LSTM on 12,000 images for 3 epochs, no KNN tuning; the report says so [default: False]" };
        var fullSweep = new Option<bool>("--full-sweep") { Description = "Train the seed's whole 8-row grid (built in; the same as configs/seed-grid.json) instead of its best row [default: False]" };
        // A quick run gets its own folder: in the full run's folder its smaller training run would block the real one.
        var output = new Option<string?>("--out") { Description = "Output folder for report.md, figures and runs [default: runs/reproduce; with --quick: runs/reproduce-quick]" };
        var command = new Command("reproduce", "The main job: data check, KNN table, CNN+LSTM training, evaluation, report.md with the seed's tables beside ours")
            { dataDir, json, quick, fullSweep, output };
        command.SetAction(parse =>
        {
            bool asJson = parse.GetValue(json);
            var options = new ReproduceOptions
            {
                OutDir = parse.GetValue(output) ?? Path.Combine("runs", parse.GetValue(quick) ? "reproduce-quick" : "reproduce"), DataDir = parse.GetValue(dataDir), Quick = parse.GetValue(quick), FullSweep = parse.GetValue(fullSweep),
            };
            options = options with { CommandFor = step => CommandFor(options, step) };
            var results = Reproduce.Run(options, new StepView(io, asJson));
            var report = Path.GetFullPath(Path.Combine(options.OutDir, "report.md"));
            if (asJson)
            {
                io.WriteJson(new ReproduceJson(
                    Report: report,
                    Quick: results.Quick,
                    Knn: [.. results.Knn.Results.Select(r => new ReproduceJson.KnnRow(r.K, r.Accuracy))],
                    KnnTunedTestAccuracy: results.KnnTuned?.TestAccuracy,
                    CnnTestAccuracy: results.BestCnn.TestAccuracy,
                    CnnValAccuracy: results.BestCnn.ValAccuracy,
                    ModelDir: results.BestCnn.ModelDir,
                    Seconds: results.Steps.Sum(s => s.Seconds),
                    Steps: [.. results.Steps.Select(s => new ReproduceJson.StepTime(s.Step, s.Seconds))],
                    CnnImagesPerSecond: results.BestCnn.History.Count > 0 ? results.BestCnn.History.Average(h => h.ImagesPerSecond) : null,
                    CnnPrecision: results.BestCnn.History.LastOrDefault()?.Precision,
                    Machine: MachineRecord.Of(results.Machine)), ReproduceJson.Schema);
                return 0;
            }
            var console = io.Human(false);
            var tuned = results.KnnTuned is { } t ? $"; tuned KNN {t.TestAccuracy:P2}" : "";
            var k9 = results.Knn.Results.FirstOrDefault(r => r.K == 9).Accuracy;
            console.MarkupLineInterpolated($"[bold]CNN+LSTM test accuracy {results.BestCnn.TestAccuracy:P2}[/] (seed: 93.56%); KNN K=9 {k9:P2} (seed: 79.38%){tuned}");
            console.MarkupLineInterpolated($"report: {report} ({results.Steps.Sum(s => s.Seconds) / 60:F1} min)");
            return 0;
        });
        return command;
    }

    /// <summary>The command that redoes one step of `reproduce` by hand, with the paths as the user gave them.</summary>
    private static string CommandFor(ReproduceOptions o, ReproduceStep step)
    {
        var data = o.DataDir is null ? "" : $" --data-dir {o.DataDir}";
        var quick = o.Quick ? $" --train-limit {o.QuickTrainLimit} --epochs {o.QuickEpochs}" : "";
        return step switch
        {
            ReproduceStep.Data => $"./fmnist data --preview {o.ExamplesPath}{data}",
            ReproduceStep.Knn => $"./fmnist knn{data}",
            ReproduceStep.KnnTune => $"./fmnist knn --tune{data}",
            ReproduceStep.Train => $"./fmnist train --out {o.CnnDir}{quick}{data}",
            ReproduceStep.Sweep => $"./fmnist sweep --grid {o.GridPath ?? Path.Combine("configs", "seed-grid.json")} --out {o.SweepDir}{quick}{data}",
            ReproduceStep.Evaluate => $"./fmnist evaluate --model {o.BestModelDir} --out {o.OutDir}{data}",
            ReproduceStep.Full => $"./fmnist reproduce{(o.FullSweep ? " --full-sweep" : "")} --out {o.OutDir}{data}",
            _ => "",
        };
    }

    private sealed class StepView(CliIo io, bool json) : IStepProgress
    {
        private readonly TextWriter _out = json ? io.Stderr : io.Stdout;

        public void StepStarted(int step, int steps, string name, TimeSpan estimate, TimeSpan remaining) =>
            _out.WriteLine($"[{step}/{steps}] {name} (about {Format(estimate)}; about {Format(remaining)} left in all)");

        public void StepDone(int step, string name, TimeSpan took) => _out.WriteLine($"[{step}] done in {Format(took)}");

        public ITrainingProgress Training(string label) => new TrainingView(io, json) { Prefix = "    " + label };

        private static string Format(TimeSpan t) => t.TotalSeconds < 90 ? $"{t.TotalSeconds:F0} s" : $"{t.TotalMinutes:F0} min";
    }
}
