using Fmnist.Data;
using Fmnist.Evaluation;
using Fmnist.Features;
using static TorchSharp.torch;

namespace Fmnist.Training;

/// <summary>
/// A run's images as resident tensors: the stratified validation split held out first, then the
/// training images (with their offline augmented copies), and the standardization measured on the
/// training images only.
/// </summary>
internal sealed class TrainingData : IDisposable
{
    /// <summary>(N,1,28,28) uint8: the training images, clean first, then one augmented copy each in offline mode.</summary>
    public required Tensor Images { get; init; }
    /// <summary>(N) int64.</summary>
    public required Tensor Labels { get; init; }
    public required Tensor ValImages { get; init; }
    public required Tensor ValLabels { get; init; }
    public required Normalization Norm { get; init; }
    /// <summary>How many of <see cref="Images"/> are original (not augmented) images.</summary>
    public required int CleanCount { get; init; }
    public int ValCount => (int)ValLabels.shape[0];
    public long Count => Images.shape[0];

    public static TrainingData Prepare(LabeledImages trainingSet, TrainConfig config, ITrainingProgress progress)
    {
        var source = trainingSet.Take(config.TrainLimit);
        var (fitIdx, valIdx) = Splits.Stratified(source.Labels, config.ValidationFraction, config.SplitSeed ?? config.Seed);
        if (config.HasValidation && valIdx.Length == 0)
            throw new FmnistException($"validation fraction {config.ValidationFraction} of {source.Count} images holds out none; raise it, or use 0 for no validation");
        var fit = source.Select(fitIdx);
        var val = source.Select(valIdx);
        var labels = fit.Labels.Select(l => (long)l).ToArray();
        if (config.Augment == AugmentMode.Offline) labels = [.. labels, .. labels];
        return new TrainingData
        {
            Images = BuildImages(fit, config, progress),
            Labels = tensor(labels),
            ValImages = Evaluator.ImageTensor(val.Images),
            ValLabels = Evaluator.LabelTensor(val.Labels),
            Norm = Normalization.FromImages(fit),
            CleanCount = fit.Count,
        };
    }

    private static Tensor BuildImages(LabeledImages fit, TrainConfig config, ITrainingProgress progress)
    {
        var clean = Evaluator.ImageTensor(fit.Images);
        if (config.Augment != AugmentMode.Offline) return clean;
        progress.Message($"augmenting {fit.Count:N0} training images (offline: one copy each)");
        var rng = new Random(Trainer.SeedFor(config.Seed, 0, 3));
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

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
        ValImages.Dispose();
        ValLabels.Dispose();
    }
}
