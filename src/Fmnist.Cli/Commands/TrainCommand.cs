using System.CommandLine;
using Fmnist.Experiments;
using Spectre.Console;

namespace Fmnist.Cli.Commands;

internal static class TrainCommand
{
    public static Command Create(CliIo io)
    {
        var dataDir = Common.DataDir();
        var json = Common.Json();
        var hyper = new TrainOptions();
        var output = new Option<string?>("--out") { Description = "Run folder [default: runs/<preset>-<date>-<time>]" };
        var resume = new Option<bool>("--resume") { Description = "Continue the interrupted run in --out [default: False]" };
        var testLimit = Common.Limit("--test-limit", "test");
        var command = new Command("train", "Train a network (the seed's CNN+LSTM or a ResNet, --arch); writes a run folder with weights, config, history, curves and summary")
            { dataDir, json, output, resume, testLimit };
        foreach (var o in hyper.All) command.Options.Add(o);
        command.SetAction(parse =>
        {
            bool asJson = parse.GetValue(json);
            var config = hyper.Resolve(parse);
            var outDir = parse.GetValue(output) ?? Path.Combine("runs", $"{config.Preset}-{DateTime.Now:yyyyMMdd-HHmmss}");
            if (File.Exists(outDir)) throw new UsageException($"--out {outDir}: is a file, not a folder");
            var loaded = Common.Load(parse.GetValue(dataDir));
            var view = new TrainingView(io, asJson);
            view.Message($"training {config.Preset} preset -> {outDir} ({config.Model.Describe()}, batch {config.BatchSize}, " +
                         $"{config.Epochs} epochs, {config.Optimizer.ToString().ToLowerInvariant()} lr {config.LearningRate} {config.Schedule.ToString().ToLowerInvariant()}, augment {config.Augment.ToString().ToLowerInvariant()})");
            RunResult result;
            try
            {
                result = TrainingWorkflow.TrainAndTest(loaded.Data, config, outDir, view, parse.GetValue(resume), parse.GetValue(testLimit));
            }
            catch (Training.RunExistsException e)
            {
                throw new UsageException($"{e.Directory}: already holds a run; pass --resume to continue it or choose another --out");
            }
            if (asJson)
            {
                io.WriteJson(new
                {
                    model_dir = result.ModelDir,
                    best_epoch = result.BestEpoch,
                    val_accuracy = result.ValAccuracy,
                    test_accuracy = result.TestAccuracy,
                    seconds = Math.Round(result.Seconds, 1),
                    train_images = result.TrainImages,
                    validation_images = result.ValidationImages,
                    test_images = result.TestImages,
                    peak_rss_mb = ProcessMemory.PeakMb(),
                    precision = result.History.LastOrDefault()?.Precision,
                    images_per_second = result.History.Count > 0 ? Math.Round(result.History.Average(h => h.ImagesPerSecond), 1) : (double?)null,
                    machine = Experiments.MachineInfo.Current().ToJson(),
                    history = result.History,
                });
                return 0;
            }
            var console = io.Human(false);
            if (result.ValAccuracy is { } val)
                console.MarkupLineInterpolated($"best epoch {result.BestEpoch}: validation {val:P2}; [bold]test {result.TestAccuracy:P2}[/] (best epoch's weights, measured once)");
            else
                console.MarkupLineInterpolated($"no validation split: trained on all {result.TrainImages:N0} images, last epoch kept; [bold]test {result.TestAccuracy:P2}[/] (measured once)");
            console.MarkupLineInterpolated($"{result.Seconds / 60:F1} min; peak memory {ProcessMemory.PeakMb():F0} MB; run folder {result.ModelDir}");
            return 0;
        });
        return command;
    }
}
