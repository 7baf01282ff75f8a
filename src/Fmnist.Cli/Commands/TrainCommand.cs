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
        var tensorboard = new Option<bool>("--tensorboard")
        {
            Description = "Also write TensorBoard logs into the run folder's tensorboard/ (step loss and learning rate, epoch metrics, weight histograms, confusion matrix and misclassified test images; view with tensorboard --logdir runs/) [default: False]",
        };
        var threads = Common.Threads();
        var ensemble = new Option<int?>("--ensemble")
        {
            Description = "Train N members that differ only in their seed (shared validation split) into one ensemble folder (ensemble.json, member-1, ...), which evaluate, predict, export and serve take as one model averaging the members [default: 1, a single model; --preset best: 2]",
        };
        var parallel = new Option<int?>("--ensemble-parallel")
        {
            Description = $"Ensemble: members trained at once, each in its own process with its share of the cores (cores/N threads); 1 trains them one after another in this process with all cores [default: members or cores, whichever is fewer; here up to {Environment.ProcessorCount}]",
        };
        var budget = new Option<double?>("--time-budget")
        {
            Description = "Wall-clock minutes the training may take (an ensemble: all its members): measures the training speed on this machine first (a few steps) and lowers --epochs to what fits, the schedule following; a resumed run keeps the epochs it started with [default: none: --epochs as given]",
            Validators = { r => { if (r.GetValueOrDefault<double?>() is <= 0) r.AddError("--time-budget must be a positive number of minutes"); } },
        };
        var command = new Command("train", "Train a network (the seed's CNN+LSTM, a ResNet or the speed network, --arch), or an ensemble of them (--ensemble); writes a run folder with weights, config, history, curves and summary")
            { dataDir, json, output, resume, testLimit, tensorboard, threads, ensemble, parallel, budget };
        foreach (var o in hyper.All) command.Options.Add(o);
        command.SetAction(parse =>
        {
            Common.ApplyThreads(parse, threads);
            bool asJson = parse.GetValue(json);
            var config = hyper.Resolve(parse);
            // --preset best is an ensemble unless --ensemble says otherwise; a member's own --config run never is
            int? asked = parse.GetValue(ensemble);
            int members = asked ?? (parse.GetValue(hyper.ConfigFile) is null ? Training.Presets.EnsembleMembers(config.Preset) : 1);
            if (asked is not null || members > 1)
                return TrainEnsemble(io, parse, config, members, parse.GetValue(parallel) ?? Math.Min(members, Environment.ProcessorCount), parse.GetValue(output), parse.GetValue(dataDir),
                    parse.GetValue(resume), parse.GetValue(testLimit), asJson, parse.GetValue(budget));
            if (parse.GetValue(parallel) is not null) throw new UsageException("--ensemble-parallel needs --ensemble");
            var outDir = parse.GetValue(output) ?? Path.Combine("runs", $"{config.Preset}-{DateTime.Now:yyyyMMdd-HHmmss}");
            if (File.Exists(outDir)) throw new UsageException($"--out {outDir}: is a file, not a folder");
            var loaded = Common.Load(parse.GetValue(dataDir));
            var view = new TrainingView(io, asJson);
            BudgetPlan? plan = null;
            if (parse.GetValue(budget) is { } minutes)
            {
                var started = parse.GetValue(resume) && File.Exists(Path.Combine(outDir, "config.json")) ? new Training.RunFolder(outDir).ReadInfo().Config : null;
                var probed = config;
                (config, plan) = FitBudget(view, config, minutes, started?.Epochs, () => (SpeedProbe.TrainRate(probed), Training.TorchRuntime.Threads), rounds: 1);
            }
            view.Message($"training {config.Preset} preset -> {outDir} ({config.Model.Describe()}, batch {config.BatchSize}, " +
                         $"{config.Epochs} epochs, {config.Optimizer.ToString().ToLowerInvariant()} lr {config.LearningRate} {config.Schedule.ToString().ToLowerInvariant()}, augment {config.Augment.ToString().ToLowerInvariant()})");
            RunResult result;
            try
            {
                using var stop = StopOnCtrlC(view);
                result = TrainingWorkflow.TrainAndTest(loaded.Data, config, outDir, view, parse.GetValue(resume), parse.GetValue(testLimit), parse.GetValue(tensorboard), stop.Token);
            }
            catch (Training.RunExistsException e)
            {
                throw new UsageException($"{e.Directory}: already holds a run; pass --resume to continue it or choose another --out");
            }
            if (asJson)
            {
                io.WriteJson(new TrainJson(
                    ModelDir: result.ModelDir,
                    BestEpoch: result.BestEpoch,
                    ValAccuracy: result.ValAccuracy,
                    TestAccuracy: result.TestAccuracy,
                    Seconds: result.Seconds,
                    TrainImages: result.TrainImages,
                    ValidationImages: result.ValidationImages,
                    TestImages: result.TestImages,
                    PeakRssMb: ProcessMemory.PeakMb(),
                    Precision: result.History.LastOrDefault()?.Precision,
                    Layout: Models.LayoutChoice.Resolve(result.Config.Layout).Name, // as the training step resolved it
                    ImagesPerSecond: result.History.Count > 0 ? result.History.Average(h => h.ImagesPerSecond) : null,
                    Machine: MachineRecord.Current(),
                    TimeBudget: BudgetRecord.Of(plan),
                    History: result.History), TrainJson.Schema);
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

    /// <summary>`--time-budget`: the epochs a resumed run started with, or as many as the speed measured here fits.</summary>
    private static (Training.TrainConfig, BudgetPlan?) FitBudget(TrainingView view, Training.TrainConfig config, double minutes, int? startedEpochs,
        Func<(double Rate, int Threads)> measure, int rounds)
    {
        if (startedEpochs is { } kept)
        {
            view.Message($"time budget {minutes:0.##} min: resuming with the {kept} epoch{(kept == 1 ? "" : "s")} the run started with");
            return (config with { Epochs = kept }, null);
        }
        view.Message($"time budget {minutes:0.##} min: measuring the training speed here...");
        var (rate, threads) = measure();
        var plan = TimeBudget.Plan(config, minutes, rate, threads, rounds);
        view.Message(plan.Describe());
        return (config with { Epochs = plan.Epochs }, plan);
    }

    private static int TrainEnsemble(CliIo io, ParseResult parse, Training.TrainConfig config, int members, int parallel, string? output,
        string? dataDir, bool resume, int? testLimit, bool asJson, double? budgetMinutes)
    {
        if (members < 1) throw new UsageException($"--ensemble must be at least 1, got {members}");
        if (parallel < 1 || parallel > members) throw new UsageException($"--ensemble-parallel must be 1..{members} (the members), got {parallel}");
        var outDir = output ?? Path.Combine("runs", $"{config.Preset}-ensemble{members}-{DateTime.Now:yyyyMMdd-HHmmss}");
        var loaded = Common.Load(dataDir);
        var view = new TrainingView(io, asJson);
        int childThreads = Math.Max(1, Environment.ProcessorCount / parallel);
        BudgetPlan? plan = null;
        if (budgetMinutes is { } minutes)
        {
            var started = resume && Ensembles.EnsembleFolder.IsEnsemble(outDir) ? new Ensembles.EnsembleFolder(outDir).ReadInfo().Config : null;
            var probed = config;
            // Members side by side are timed as they will run: in a child process with their share of the cores.
            (config, plan) = FitBudget(view, config, minutes, started?.Epochs,
                () => parallel == 1 ? (SpeedProbe.TrainRate(probed), Training.TorchRuntime.Threads)
                    : (MemberProcess.MeasureRate(probed, loaded.Location.Directory, childThreads), childThreads),
                rounds: (members + parallel - 1) / parallel);
        }
        view.Message($"training an ensemble of {members} ({config.Preset} preset, {config.Model.Describe()}, {config.Epochs} epochs each, {parallel} at a time) -> {outDir}");
        Ensembles.MemberTrainer trainer = parallel == 1
            ? (i, c, dir, again, stop) => TrainingWorkflow.TrainAndTest(loaded.Data, c, dir, new TrainingView(io, asJson) { Prefix = $"[member {i + 1}] " }, again, testLimit, stop: stop)
            : (i, c, dir, again, stop) => MemberProcess.Train(c, dir, again, loaded.Location.Directory, childThreads, testLimit,
                line => { if (line.TrimStart().StartsWith("epoch", StringComparison.Ordinal)) view.Message($"[member {i + 1}] {line.Trim()}"); }, stop);
        Ensembles.EnsembleResult result;
        try
        {
            result = Ensembles.EnsembleTrainer.TrainAndTest(loaded.Data, config, members, outDir, trainer, parallel, resume, testLimit, view);
        }
        catch (Training.RunExistsException e)
        {
            throw new UsageException($"{e.Directory}: already holds an ensemble; pass --resume to continue it or choose another --out");
        }
        if (asJson)
        {
            io.WriteJson(new TrainEnsembleJson(
                ModelDir: result.ModelDir,
                Members: result.Members,
                Parallel: result.Parallel,
                ValAccuracy: result.ValAccuracy,
                TestAccuracy: result.TestAccuracy,
                Seconds: result.Seconds,
                WallSeconds: result.WallSeconds,
                MemberValAccuracy: result.MemberResults.Select(m => m.ValAccuracy).ToList(),
                Machine: MachineRecord.Current(),
                TimeBudget: BudgetRecord.Of(plan)), TrainEnsembleJson.Schema);
            return 0;
        }
        var console = io.Human(false);
        var valText = result.ValAccuracy is { } v ? $"validation {v:P2} (members {string.Join(", ", result.MemberResults.Select(m => $"{m.ValAccuracy:P2}"))}); " : "";
        console.MarkupLineInterpolated($"ensemble of {result.Members}: {valText}[bold]test {result.TestAccuracy:P2}[/] (averaged probabilities, measured once)");
        console.MarkupLineInterpolated($"training {result.Seconds / 60:F1} min summed over members, {result.WallSeconds / 60:F1} min wall; ensemble folder {result.ModelDir}");
        return 0;
    }

    /// <summary>The first Ctrl-C (or SIGTERM, as a scheduler sends) asks the training to stop after the epoch under
    /// way, its checkpoint written; a second one stops the process at once, as it always does.</summary>
    private static CancelOnSignal StopOnCtrlC(TrainingView view) => new(view);

    private sealed class CancelOnSignal : IDisposable
    {
        private readonly CancellationTokenSource _source = new();
        private readonly System.Runtime.InteropServices.PosixSignalRegistration[] _registrations;

        public CancelOnSignal(TrainingView view)
        {
            void Stop(System.Runtime.InteropServices.PosixSignalContext context)
            {
                if (_source.IsCancellationRequested) return; // the second one: the default action ends the process
                context.Cancel = true;
                _source.Cancel();
                view.Message("stopping after this epoch, once its checkpoint is written (Ctrl-C again to stop at once)");
            }
            _registrations = [.. new[] { System.Runtime.InteropServices.PosixSignal.SIGINT, System.Runtime.InteropServices.PosixSignal.SIGTERM }
                .Select(s => System.Runtime.InteropServices.PosixSignalRegistration.Create(s, Stop))];
        }

        public CancellationToken Token => _source.Token;

        public void Dispose()
        {
            foreach (var r in _registrations) r.Dispose();
            _source.Dispose();
        }
    }
}
