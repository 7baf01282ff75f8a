using System.CommandLine;
using Fmnist.Experiments;
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
        var grid = new Option<string>("--grid") { Description = "Grid file (JSON): trials and/or axes to cross, optionally the preset and shared settings they start from; configs/seed-grid.json holds the seed's 8 rows, configs/ablation.json the best recipe's ablation", Required = true };
        var output = new Option<string>("--out") { Description = "Sweep folder (trials/NAME per trial, best_model/, sweep.md/csv/json, val_curves.png)", DefaultValueFactory = _ => Path.Combine("runs", "sweep") };
        var epochs = new Option<int?>("--epochs") { Description = $"Epochs per trial [default: the grid file's, else its preset's ({Presets.Get("seed").Epochs} for seed)]" };
        var trainLimit = Common.Limit("--train-limit", "training");
        var testLimit = Common.Limit("--test-limit", "test");
        var command = new Command("sweep", "Train every trial of a grid; finished trials are skipped, an interrupted one resumes; best by validation accuracy")
            { dataDir, json, grid, output, epochs, trainLimit, testLimit };
        command.SetAction(parse =>
        {
            bool asJson = parse.GetValue(json);
            var gridFile = SweepGrid.Load(parse.GetValue(grid)!);
            var trials = gridFile.Expand();
            var baseConfig = TrainOptions.Validated(new ConfigOverrides { Epochs = parse.GetValue(epochs), TrainLimit = parse.GetValue(trainLimit) }
                .Apply(gridFile.BaseConfig()));
            var loaded = Common.Load(parse.GetValue(dataDir));
            var sweep = Sweep.Run(loaded.Data, trials, baseConfig, parse.GetValue(output)!,
                (name, i, n) => new TrainingView(io, asJson) { Prefix = $"[{i}/{n} {name}] " }, parse.GetValue(testLimit));
            if (asJson)
            {
                io.WriteJson(new
                {
                    directory = sweep.Directory,
                    best = sweep.Best.Name,
                    best_model = sweep.BestModelDir,
                    trials = sweep.Trials.Select(t => new
                    {
                        name = t.Name, changes = SweepReport.Describe(t.Changes), val_accuracy = t.Result.ValAccuracy, test_accuracy = t.Result.TestAccuracy,
                        seed_accuracy = SweepReport.SeedAccuracy(t.Result), seconds = t.Result.Seconds, skipped = t.Skipped,
                    }),
                });
                return 0;
            }
            io.Stdout.WriteLine();
            io.Stdout.Write(SweepReport.Markdown(sweep));
            io.Stdout.WriteLine($"Tables and val_curves.png in {sweep.Directory}");
            return 0;
        });
        return command;
    }

    public static Command ReproduceCommand(CliIo io)
    {
        var dataDir = Common.DataDir();
        var json = Common.Json();
        var quick = new Option<bool>("--quick") { Description = "A few minutes: CNN+LSTM on 12,000 images for 3 epochs, no KNN tuning; the report says so [default: False]" };
        var fullSweep = new Option<bool>("--full-sweep") { Description = "Train the seed's whole 8-row grid (configs/seed-grid.json) instead of its best row [default: False]" };
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
                io.WriteJson(new
                {
                    report,
                    quick = results.Quick,
                    knn = results.Knn.Results.Select(r => new { k = r.K, accuracy = r.Accuracy }),
                    knn_tuned_test_accuracy = results.KnnTuned?.TestAccuracy,
                    cnn_test_accuracy = results.BestCnn.TestAccuracy,
                    cnn_val_accuracy = results.BestCnn.ValAccuracy,
                    model_dir = results.BestCnn.ModelDir,
                    seconds = Math.Round(results.Steps.Sum(s => s.Seconds), 1),
                    steps = results.Steps.Select(s => new { step = s.Step, seconds = Math.Round(s.Seconds, 1) }),
                    cnn_images_per_second = results.BestCnn.History.Count > 0 ? Math.Round(results.BestCnn.History.Average(h => h.ImagesPerSecond), 1) : (double?)null,
                    cnn_precision = results.BestCnn.History.LastOrDefault()?.Precision,
                    machine = results.Machine.ToJson(),
                });
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
            ReproduceStep.Sweep => $"./fmnist sweep --grid {o.GridPath} --out {o.SweepDir}{quick}{data}",
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
