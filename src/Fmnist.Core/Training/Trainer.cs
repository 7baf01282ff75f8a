using System.Diagnostics;
using Fmnist.Data;
using Fmnist.Evaluation;
using Fmnist.Models;
using static TorchSharp.torch;

namespace Fmnist.Training;

/// <param name="BestValAccuracy">Null when no validation images were held out (the last epoch is kept).</param>
internal sealed record TrainResult(RunFolder Folder, int BestEpoch, double? BestValAccuracy, IReadOnlyList<EpochRecord> History,
    double Seconds, int TrainImages, int ValidationImages, bool Resumed);

/// <summary>Training divergence (NaN or infinite loss): stops the run with a message, not garbage weights.</summary>
internal sealed class TrainingDivergedException(string message) : FmnistException(message);

/// <summary>The output folder already holds a run and the caller did not ask to resume it.</summary>
internal sealed class RunExistsException(string directory) : FmnistException($"{directory}: already holds a run; resume it or choose another folder")
{
    public string Directory { get; } = directory;
}

/// <summary>
/// Trains either network: stratified validation split held out before any augmentation, the configured
/// optimizer and schedule, BatchNorm statistics recomputed and a checkpoint written after every epoch,
/// the best epoch by validation accuracy kept.
/// </summary>
internal static class Trainer
{
    /// <param name="stop">Asks the training to stop after the epoch under way, its checkpoint written
    /// (<see cref="TrainingStoppedException"/>); `--resume` continues it exactly.</param>
    public static TrainResult Run(LabeledImages trainingSet, TrainConfig config, string outDir, ITrainingProgress? progress = null,
        bool resume = false, Action<RunFolder, IReadOnlyList<EpochRecord>>? afterEpoch = null, CancellationToken stop = default)
    {
        config.Validate();
        progress ??= SilentProgress.Instance;
        TorchRuntime.BeforeFirstUse();
        using var random = TorchRandom.Exclusive(config.Seed, progress); // one training per process at a time
        var folder = new RunFolder(outDir);
        Checkpoint.Recover(folder);
        var resumed = PrepareFolder(folder, config, resume, progress);
        var saved = resumed?.State;
        using var data = TrainingData.Prepare(trainingSet, config, progress);
        using var initImages = TrainingStep.InitSample(config, data.Images, data.Norm, data.CleanCount);
        using var step = new TrainingStep(config, data.Norm, initImages, resumed is { } r ? ResumedPrecision(r.Started, config) : null);
        progress.Message($"precision {step.Compute.Name}: {step.Compute.Reason}");
        progress.Message($"layout {step.Layout.Name}: {step.Layout.Reason}");
        if (saved is null)
            JsonFiles.Write(folder.ConfigPath, new RunInfo(config, data.Norm, Versions(), DateTimeOffset.UtcNow, ComputeInfo.Of(step.Compute, step.Layout)));

        step.StartPruning(data.Count);
        var run = saved ?? new CheckpointState(0, 0, null, [], 0);
        AtomicFile.WriteAllText(folder.SummaryPath, ModelSummary.Of(step.Net, config.Model).ToText());
        if (saved is not null)
        {
            Checkpoint.Restore(folder, step, saved, progress);
            progress.Message($"resuming after epoch {saved.Epoch} of {config.Epochs}");
            afterEpoch?.Invoke(folder, saved.History); // a kill may have cut it short after the checkpoint
        }

        var watch = Stopwatch.StartNew();
        var order = new long[data.Count]; // reused: a fresh 0.8 MB array per epoch is large-object garbage
        for (int epoch = run.Epoch + 1; epoch <= config.Epochs; epoch++)
        {
            var record = RunEpoch(step, data, config, epoch, order, progress);
            bool best = record.ValAccuracy is not { } acc || run.BestValAccuracy is not { } top || acc > top;
            run = new CheckpointState(epoch, best ? epoch : run.BestEpoch, best ? record.ValAccuracy : run.BestValAccuracy,
                [.. run.History, record], (saved?.Seconds ?? 0) + watch.Elapsed.TotalSeconds, Checkpoint.TorchRandomState());
            Checkpoint.Save(folder, step, run, best);
            afterEpoch?.Invoke(folder, run.History);
            progress.EpochDone(record, best);
            if (stop.IsCancellationRequested && epoch < config.Epochs) throw new TrainingStoppedException(folder.Directory, epoch, config.Epochs);
        }
        return new TrainResult(folder, run.BestEpoch, run.BestValAccuracy, run.History, (saved?.Seconds ?? 0) + watch.Elapsed.TotalSeconds,
            (int)data.Count, data.ValCount, saved is not null);
    }

    /// <summary>One pass over the training images in a seeded order, then BatchNorm calibration and validation.</summary>
    private static EpochRecord RunEpoch(TrainingStep step, TrainingData data, TrainConfig config, int epoch, long[] order, ITrainingProgress progress)
    {
        var epochWatch = Stopwatch.StartNew();
        long n = data.Count;
        int batches = (int)((n + config.BatchSize - 1) / config.BatchSize);
        for (int i = 0; i < order.Length; i++) order[i] = i;
        new Random(SeedFor(config.Seed, epoch, 1)).Shuffle(order);
        var augmentRng = new Random(SeedFor(config.Seed, epoch, 2));
        // Loss-based pruning trains this epoch on a subset; the schedule still runs over full epochs, the
        // subset's steps spread evenly over the epoch's span of it.
        long[] images = order;
        float[]? weights = null;
        if (step.Pruning is { } pruning) (images, weights) = pruning.Select(order, epoch, config.Epochs, new Random(SeedFor(config.Seed, epoch, 3)));
        long kept = images.Length;
        int keptBatches = (int)((kept + config.BatchSize - 1) / config.BatchSize);
        progress.EpochStarted(epoch, config.Epochs, keptBatches);
        double lossSum = 0, lr = config.LearningRate;
        long correct = 0, seen = 0;
        for (int b = 0; b < keptBatches; b++)
        {
            int start = b * config.BatchSize, count = (int)Math.Min(config.BatchSize, kept - start);
            long at = weights is null ? (long)(epoch - 1) * batches + b : (long)(epoch - 1) * batches + (long)b * batches / keptBatches;
            var batch = images[start..(start + count)];
            var r = step.Run(data.Images, data.Labels, batch, augmentRng, at, (long)batches * config.Epochs, epoch,
                weights?[start..(start + count)]);
            if (r.SampleLosses is { } losses) step.Pruning!.Record(batch, losses);
            CheckFinite(r.Loss, epoch, b + 1, config.LearningRate);
            lossSum += r.Loss * count;
            correct += r.Correct;
            seen += count;
            lr = r.LearningRate;
            progress.StepDone(at, r.Loss, r.LearningRate);
            progress.BatchDone(b + 1, lossSum / seen, seen / epochWatch.Elapsed.TotalSeconds);
        }
        double trainSeconds = epochWatch.Elapsed.TotalSeconds;
        // A full GC pauses the whole process and sets a process-wide GC mode: only when the process asked to be tuned.
        if (TorchRuntime.Initialized) ReleaseGarbage();
        // The weights that are validated and saved (the average, when there is one) get fresh BN statistics.
        BatchNormCalibration.Run(step.EvalNet, data.Images, data.Norm, Math.Min(data.CleanCount, BatchNormCalibration.DefaultImages));
        double? valLoss = null, valAcc = null;
        if (data.ValCount > 0) (valLoss, valAcc) = Evaluator.Score(step.EvalNet, data.ValImages, data.ValLabels, data.Norm);
        return new EpochRecord(epoch, lossSum / seen, (double)correct / seen, valLoss, valAcc, lr,
            epochWatch.Elapsed.TotalSeconds, seen / trainSeconds, ProcessMemory.ResidentMb(), step.Compute.Name);
    }

    /// <summary>
    /// A full, compacting .NET collection once per epoch (a few milliseconds): the managed heap otherwise
    /// carries each epoch's large-object garbage, and tensors a library dropped without disposing hold
    /// native memory, until the runtime chooses to collect (see docs/performance.md).
    /// </summary>
    private static void ReleaseGarbage()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    /// <summary>Stops the run on a NaN or infinite loss: later weights would be garbage.</summary>
    public static void CheckFinite(double loss, int epoch, int batch, double learningRate)
    {
        if (!double.IsFinite(loss))
            throw new TrainingDivergedException(FormattableString.Invariant(
                $"training diverged: loss is {loss} at epoch {epoch}, batch {batch}; try a lower learning rate (now {learningRate})"));
    }

    /// <summary>
    /// A fixed mix of (seed, epoch, purpose) for System.Random. Not HashCode.Combine: its hashes change
    /// from process to process, which would make runs unrepeatable and resumed runs diverge.
    /// </summary>
    public static int SeedFor(int seed, int epoch, int purpose) => unchecked(seed * 1_000_003 + epoch * 7_919 + purpose * 104_729);

    /// <summary>The precision a resumed run started with, when `auto` chose it: `auto` measures bf16's speed, and
    /// an exact resume must not let a second measurement change its mind. Null (resolve afresh) otherwise.</summary>
    private static ResolvedPrecision? ResumedPrecision(RunInfo started, TrainConfig config)
    {
        if (config.Precision != Precision.Auto || started.Compute is not { } compute) return null;
        Precision? used = compute.Precision switch { "bf16" => Precision.Bf16, "fp32" => Precision.Fp32, _ => null };
        return used is { } p ? new(p, $"{compute.PrecisionReason} (when the run started; kept on resume)") : null;
    }

    /// <summary>Checks the folder for a new or a resumed run; for a resume, the checkpoint state and the config.json the
    /// run started with (null for a new run).</summary>
    private static (CheckpointState State, RunInfo Started)? PrepareFolder(RunFolder folder, TrainConfig config, bool resume, ITrainingProgress progress)
    {
        bool started = File.Exists(folder.StatePath);
        if (File.Exists(folder.Directory)) throw new FmnistException($"{folder.Directory}: is a file, not a folder");
        if (!resume)
        {
            if (started || File.Exists(folder.ModelPath)) throw new RunExistsException(folder.Directory);
            Directory.CreateDirectory(folder.Directory);
            return null;
        }
        if (!started)
        {
            if (File.Exists(folder.ModelPath)) throw new FmnistException($"{folder.StatePath}: missing, so the run cannot be resumed; choose another folder");
            progress.Message($"{folder.Directory}: no interrupted run to resume; starting a new one");
            Directory.CreateDirectory(folder.Directory);
            return null;
        }
        var info = folder.ReadInfo();
        if (JsonFiles.Serialize(info.Config) != JsonFiles.Serialize(config))
            throw new FmnistException($"{folder.ConfigPath}: the interrupted run used other settings; resume it with the same options or choose another folder");
        var state = JsonFiles.Read<CheckpointState>(folder.StatePath);
        if (!File.Exists(folder.CheckpointPath) || !File.Exists(folder.OptimizerPath))
            throw new FmnistException($"{folder.Directory}: checkpoint.pt or optimizer.pt is missing; cannot resume");
        return (state, info);
    }

    public static IReadOnlyDictionary<string, string> Versions() => new Dictionary<string, string>
    {
        ["fmnist"] = typeof(Trainer).Assembly.GetName().Version?.ToString() ?? "unknown",
        ["torchsharp"] = TorchRuntime.TorchSharpVersion,
        ["dotnet"] = Environment.Version.ToString(),
        ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        ["threads"] = get_num_threads().ToString(),
        ["allocator"] = TorchRuntime.Allocator,
    };
}

/// <summary>A training stopped on request after an epoch, its checkpoint written: `--resume` continues it exactly.</summary>
internal sealed class TrainingStoppedException(string directory, int epoch, int epochs)
    : FmnistException($"{directory}: stopped after epoch {epoch} of {epochs}, checkpoint saved; run the same command with --resume to continue")
{
    /// <summary>The last epoch completed.</summary>
    public int Epoch { get; } = epoch;
}
