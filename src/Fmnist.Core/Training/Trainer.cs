using System.Diagnostics;
using System.Globalization;
using Fmnist.Data;
using Fmnist.Evaluation;
using Fmnist.Features;
using Fmnist.Models.CnnLstm;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fmnist.Training;

/// <param name="BestValAccuracy">Null when no validation images were held out (the last epoch is kept).</param>
public sealed record TrainResult(RunFolder Folder, int BestEpoch, double? BestValAccuracy, IReadOnlyList<EpochRecord> History,
    double Seconds, int TrainImages, int ValidationImages, bool Resumed);

/// <summary>Training divergence (NaN or infinite loss): stops the run with a message, not garbage weights.</summary>
public sealed class TrainingDivergedException(string message) : FmnistException(message);

/// <summary>
/// Trains the CNN+LSTM: stratified validation split held out before any augmentation, Adam with an
/// optional cosine decay, a checkpoint after every epoch, the best epoch by validation accuracy kept.
/// </summary>
public static class Trainer
{
    public static TrainResult Run(LabeledImages trainingSet, TrainConfig config, string outDir, ITrainingProgress? progress = null,
        bool resume = false, Action<RunFolder, IReadOnlyList<EpochRecord>>? afterEpoch = null)
    {
        config.Validate();
        progress ??= SilentProgress.Instance;
        TorchRuntime.Initialize();
        var folder = new RunFolder(outDir);
        var state = PrepareFolder(folder, config, resume);

        var source = trainingSet.Take(config.TrainLimit);
        var (fitIdx, valIdx) = Splits.Stratified(source.Labels, config.ValidationFraction, config.Seed);
        if (config.HasValidation && valIdx.Length == 0)
            throw new FmnistException($"validation fraction {config.ValidationFraction} of {source.Count} images holds out none; raise it or use 0 for no validation");
        var fit = source.Select(fitIdx);
        var val = source.Select(valIdx);
        var norm = Normalization.FromImages(fit);
        if (state is null)
        {
            JsonFiles.Write(folder.ConfigPath, new RunInfo(config, norm, Versions(), DateTimeOffset.UtcNow));
        }

        using var images = BuildTrainingImages(fit, config, progress);
        using var labels = BuildLabels(fit, config);
        using var valImages = Evaluator.ImageTensor(val.Images);
        using var valLabels = Evaluator.LabelTensor(val.Labels);
        long n = images.shape[0];

        manual_seed(config.Seed);
        using var net = new CnnLstmNet(config.Model);
        using var optimizer = optim.Adam(net.parameters(), config.LearningRate);
        var history = new List<EpochRecord>(state?.History ?? []);
        int bestEpoch = state?.BestEpoch ?? 0;
        double? bestAcc = state?.BestValAccuracy;
        double priorSeconds = state?.Seconds ?? 0;
        if (state is not null)
        {
            net.load(folder.CheckpointPath);
            optimizer.load_state_dict(folder.OptimizerPath);
            progress.Message($"resuming after epoch {state.Epoch} of {config.Epochs}");
        }
        var summary = ModelSummary.Of(net, config.Model).ToText();
        AtomicFile.WriteAllText(folder.SummaryPath, summary);

        var watch = Stopwatch.StartNew();
        int batches = (int)((n + config.BatchSize - 1) / config.BatchSize);
        long totalSteps = (long)batches * config.Epochs;
        var order = new long[n]; // reused: a fresh 0.8 MB array per epoch is large-object garbage
        for (int epoch = (state?.Epoch ?? 0) + 1; epoch <= config.Epochs; epoch++)
        {
            var epochWatch = Stopwatch.StartNew();
            net.train();
            progress.EpochStarted(epoch, config.Epochs, batches);
            for (int i = 0; i < order.Length; i++) order[i] = i;
            new Random(SeedFor(config.Seed, epoch, 1)).Shuffle(order);
            var augmentRng = new Random(SeedFor(config.Seed, epoch, 2));
            double lossSum = 0, lr = config.LearningRate;
            long correct = 0, seen = 0;
            for (int b = 0; b < batches; b++)
            {
                using var scope = NewDisposeScope();
                int start = b * config.BatchSize, count = (int)Math.Min(config.BatchSize, n - start);
                var idx = tensor(order.AsSpan(start, count).ToArray());
                var x = images.index_select(0, idx).to_type(ScalarType.Float32).div_(255.0);
                if (config.Augment == AugmentMode.Online) x = Augmenter.Apply(x, config.Augmentation, augmentRng);
                x = x.sub_(norm.Mean).div_(norm.Std);
                var y = labels.index_select(0, idx);

                lr = LearningRate(config, (long)(epoch - 1) * batches + b, totalSteps);
                foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
                var logits = net.call(x);
                var loss = nn.functional.cross_entropy(logits, y, label_smoothing: config.LabelSmoothing);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();

                double batchLoss = loss.item<float>();
                CheckFinite(batchLoss, epoch, b + 1, config.LearningRate);
                lossSum += batchLoss * count;
                correct += logits.argmax(1).eq(y).sum().item<long>();
                seen += count;
                progress.BatchDone(b + 1, lossSum / seen, seen / epochWatch.Elapsed.TotalSeconds);
            }
            double trainSeconds = epochWatch.Elapsed.TotalSeconds;
            ReleaseGarbage();
            double? valLoss = null, valAcc = null;
            if (val.Count > 0) (valLoss, valAcc) = Evaluator.Score(net, valImages, valLabels, norm);
            var record = new EpochRecord(epoch, lossSum / seen, (double)correct / seen, valLoss, valAcc, lr,
                epochWatch.Elapsed.TotalSeconds, seen / trainSeconds, ProcessMemory.ResidentMb());
            history.Add(record);
            // Without validation images there is nothing to choose by: the last epoch is kept.
            bool best = valAcc is not { } acc || bestAcc is not { } top || acc > top;
            if (best)
            {
                bestAcc = valAcc;
                bestEpoch = epoch;
                folder.SaveWeights(net, folder.ModelPath);
            }
            folder.SaveWeights(net, folder.CheckpointPath);
            AtomicFile.Write(folder.OptimizerPath, tmp => optimizer.save_state_dict(tmp));
            JsonFiles.Write(folder.StatePath, new CheckpointState(epoch, bestEpoch, bestAcc, history, priorSeconds + watch.Elapsed.TotalSeconds));
            WriteHistory(folder, history);
            afterEpoch?.Invoke(folder, history);
            progress.EpochDone(record, best);
        }
        return new TrainResult(folder, bestEpoch, bestAcc, history, priorSeconds + watch.Elapsed.TotalSeconds,
            (int)n, val.Count, state is not null);
    }

    /// <summary>
    /// A full, compacting .NET collection once per epoch (a few milliseconds). Without it the managed heap
    /// carried each epoch's large-object garbage until the runtime chose to collect, and resident memory
    /// rose ~17 MB per epoch (measured: 723 -> 863 MB over 7 epochs, then a drop when a collection came).
    /// Tensors a library dropped without disposing are finalized here too, freeing their native memory.
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
                $"training diverged: loss is {loss} at epoch {epoch}, batch {batch}; try a lower --lr (now {learningRate})"));
    }

    /// <summary>
    /// A fixed mix of (seed, epoch, purpose) for System.Random. Not HashCode.Combine: its hashes change
    /// from process to process, which would make runs unrepeatable and resumed runs diverge.
    /// </summary>
    public static int SeedFor(int seed, int epoch, int purpose) => unchecked(seed * 1_000_003 + epoch * 7_919 + purpose * 104_729);

    /// <summary>Cosine decay from the base rate to zero over all steps, or constant.</summary>
    public static double LearningRate(TrainConfig c, long step, long totalSteps) => c.Schedule switch
    {
        LrSchedule.Cosine => c.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * step / Math.Max(1, totalSteps))),
        _ => c.LearningRate,
    };

    private static CheckpointState? PrepareFolder(RunFolder folder, TrainConfig config, bool resume)
    {
        bool started = File.Exists(folder.StatePath);
        if (!resume)
        {
            if (started || File.Exists(folder.ModelPath))
                throw new FmnistException($"{folder.Directory}: already holds a run; pass --resume to continue it or choose another --out");
            Directory.CreateDirectory(folder.Directory);
            return null;
        }
        if (!started)
        {
            Directory.CreateDirectory(folder.Directory);
            return null; // nothing to resume: start fresh
        }
        var saved = folder.ReadInfo().Config;
        if (JsonFiles.Serialize(saved) != JsonFiles.Serialize(config))
            throw new FmnistException($"{folder.ConfigPath}: the interrupted run used other settings; resume it with the same options or choose another --out");
        var state = JsonFiles.Read<CheckpointState>(folder.StatePath);
        if (!File.Exists(folder.CheckpointPath) || !File.Exists(folder.OptimizerPath))
            throw new FmnistException($"{folder.Directory}: checkpoint.pt or optimizer.pt is missing; cannot resume");
        return state;
    }

    /// <summary>(N,1,28,28) uint8: the clean images, plus one augmented copy of each in offline mode.</summary>
    private static Tensor BuildTrainingImages(LabeledImages fit, TrainConfig config, ITrainingProgress progress)
    {
        var clean = tensor(fit.Images).reshape(fit.Count, 1, 28, 28);
        if (config.Augment != AugmentMode.Offline) return clean;
        progress.Message($"augmenting {fit.Count:N0} training images (offline: one copy each)");
        var rng = new Random(SeedFor(config.Seed, 0, 3));
        var parts = new List<Tensor> { clean };
        using (no_grad())
        {
            for (int start = 0; start < fit.Count; start += 2048)
            {
                using var scope = NewDisposeScope();
                int count = Math.Min(2048, fit.Count - start);
                var x = clean.narrow(0, start, count).to_type(ScalarType.Float32).div_(255.0);
                var augmented = Augmenter.Apply(x, config.Augmentation, rng).mul_(255.0).round_().clamp_(0, 255).to_type(ScalarType.Byte);
                parts.Add(augmented.MoveToOuterDisposeScope());
            }
        }
        var all = cat(parts, 0);
        foreach (var p in parts) p.Dispose();
        return all;
    }

    private static Tensor BuildLabels(LabeledImages fit, TrainConfig config)
    {
        var y = fit.Labels.Select(l => (long)l).ToArray();
        if (config.Augment == AugmentMode.Offline) y = [.. y, .. y];
        return tensor(y);
    }

    private static void WriteHistory(RunFolder folder, IReadOnlyList<EpochRecord> history)
    {
        JsonFiles.Write(folder.HistoryJsonPath, history);
        var csv = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds,images_per_second,rss_mb\n" + string.Concat(
            history.Select(h => FormattableString.Invariant(
                $"{h.Epoch},{h.TrainLoss:F6},{h.TrainAccuracy:F6},{h.ValLoss?.ToString("F6", CultureInfo.InvariantCulture)},{h.ValAccuracy?.ToString("F6", CultureInfo.InvariantCulture)},{h.LearningRate:G6},{h.Seconds:F2},{h.ImagesPerSecond:F1},{h.RssMb:F0}\n")));
        AtomicFile.WriteAllText(folder.HistoryCsvPath, csv);
    }

    public static IReadOnlyDictionary<string, string> Versions() => new Dictionary<string, string>
    {
        ["fmnist"] = typeof(Trainer).Assembly.GetName().Version?.ToString() ?? "unknown",
        ["torchsharp"] = TorchRuntime.TorchSharpVersion,
        ["dotnet"] = Environment.Version.ToString(),
        ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        ["threads"] = TorchSharp.torch.get_num_threads().ToString(),
        ["allocator"] = TorchRuntime.Allocator,
    };
}
