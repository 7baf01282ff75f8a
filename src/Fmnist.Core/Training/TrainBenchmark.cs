using System.Diagnostics;
using Fmnist.Data;
using Fmnist.Evaluation;
using static TorchSharp.torch;

namespace Fmnist.Training;

internal sealed record TrainBenchResult(int BatchSize, int Batches, double ImagesPerSecond, double InferenceImagesPerSecond,
    double RssStartMb, double RssEndMb, int Threads, ResolvedPrecision Precision, long ForwardFlops, Models.ResolvedLayout Layout)
{
    /// <summary>Arithmetic rate of the training steps: a step costs about 3x the forward pass (forward, and
    /// backward for activations and weights).</summary>
    public double TrainGflops => ImagesPerSecond * 3.0 * ForwardFlops / 1e9;
    public double InferenceGflops => InferenceImagesPerSecond * (double)ForwardFlops / 1e9;
}

/// <summary>
/// Times <see cref="TrainingStep.Run"/>, the step `train` runs (augmentation, standardization, forward,
/// label-smoothed loss, backward, Adam with the schedule), on real images after a warm-up; then inference.
/// </summary>
internal static class TrainBenchmark
{
    /// <param name="inferenceImages">Images timed through inference after the steps (0: none).</param>
    public static TrainBenchResult Run(LabeledImages images, TrainConfig config, int batches = 30, int warmup = 3, int inferenceImages = 5000)
    {
        TorchRuntime.BeforeFirstUse();
        var norm = Features.Normalization.FromImages(images);
        using var all = Evaluator.ImageTensor(images.Images);
        using var initImages = TrainingStep.InitSample(config, all, norm);
        using var step = new TrainingStep(config, norm, initImages);
        using var labels = Evaluator.LabelTensor(images.Labels);
        var rng = new Random(config.Seed);
        var batchesPerEpoch = (images.Count + config.BatchSize - 1) / config.BatchSize;
        long totalSteps = (long)batchesPerEpoch * config.Epochs;
        double rssStart = 0;
        var watch = new Stopwatch();
        for (int b = 0; b < warmup + batches; b++)
        {
            if (b == warmup)
            {
                rssStart = ProcessMemory.ResidentMb();
                watch.Start();
            }
            var idx = Enumerable.Range(0, config.BatchSize).Select(_ => (long)rng.Next(images.Count)).ToArray();
            step.Run(all, labels, idx, rng, b, totalSteps);
        }
        double trainRate = batches * config.BatchSize / watch.Elapsed.TotalSeconds;
        double inferRate = 0;
        if (inferenceImages > 0)
        {
            var infer = Stopwatch.StartNew();
            var subset = images.Take(Math.Min(images.Count, inferenceImages));
            Evaluator.Probabilities(step.Net, subset.Images, norm);
            inferRate = subset.Count / infer.Elapsed.TotalSeconds;
        }
        return new TrainBenchResult(config.BatchSize, batches, trainRate, inferRate, rssStart, ProcessMemory.ResidentMb(), get_num_threads(),
            step.Compute, Models.ModelFactory.ForwardFlops(config.Model), step.Layout);
    }
}
