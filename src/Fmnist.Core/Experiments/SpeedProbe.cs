using System.Diagnostics;
using Fmnist.Data;
using Fmnist.Features;
using Fmnist.Models.Knn;
using Fmnist.Training;

namespace Fmnist.Experiments;

/// <summary>
/// This machine's speed, measured in a few seconds before `reproduce` starts, so its time estimates come
/// from the CPU it runs on rather than from figures of another one. Random images suffice: the time of a
/// training step or a Hamming compare does not depend on what the pixels show.
/// </summary>
public sealed record SpeedProbe(double TrainImagesPerSecond, double KnnPairsPerSecond, string KnnKernel)
{
    /// <summary>Share of all test x train pairs the vector kernels' popcount window compares on the seed's KNN
    /// table (K up to 100, threshold 127): ~26% measured on Fashion-MNIST, rounded up. The scalar kernel compares all.</summary>
    private const double KnnWindowShare = 0.35;

    /// <summary>`knn --tune` over `knn`'s table: 23.6 on one machine (11.8 s and 0.5 s, same kernel), a ratio of work, not of speed.</summary>
    private const double TuneOverTable = 24;

    public static SpeedProbe Measure(TrainConfig config)
    {
        var rng = new Random(1);
        var pixels = new byte[2048 * ImageShape.Pixels];
        rng.NextBytes(pixels);
        var labels = Enumerable.Range(0, 2048).Select(i => (byte)(i % 10)).ToArray();
        var images = new LabeledImages(pixels, labels);
        var train = TrainBenchmark.Run(images, config with { TrainLimit = null }, batches: 4, warmup: 1, inferenceImages: 0);

        var kernel = HammingSearch.Resolve(SearchKernel.Auto);
        var trainBits = BitImages.Pack(pixels, 127);
        // 512 x 2,048 pairs per search: large enough that the per-call set-up (sorting, interleaving) is noise.
        var queryBits = BitImages.Pack(pixels.AsSpan(0, 512 * ImageShape.Pixels), 127);
        HammingSearch.Search(trainBits, queryBits, 10, kernel); // warm-up: JIT
        var watch = Stopwatch.StartNew();
        int rounds = 0;
        while (watch.Elapsed.TotalSeconds < 0.2 || rounds < 2)
        {
            HammingSearch.Search(trainBits, queryBits, 10, kernel);
            rounds++;
        }
        double pairs = (double)rounds * trainBits.Count * queryBits.Count / watch.Elapsed.TotalSeconds;
        return new SpeedProbe(train.ImagesPerSecond, pairs, HammingSearch.Name(kernel));
    }

    public double KnnTableSeconds(int train, int test) =>
        (double)train * test * (KnnKernel == "scalar" ? 1 : KnnWindowShare) / KnnPairsPerSecond + 0.3;

    public double KnnTuneSeconds(int train, int test) => KnnTableSeconds(train, test) * TuneOverTable;

    /// <summary>Epochs of training steps, plus BatchNorm calibration and validation (inference runs about 3x the training rate).</summary>
    public double TrainingSeconds(TrainConfig c)
    {
        double pool = c.TrainLimit is { } limit ? Math.Min(limit, 60000) : 60000;
        double images = pool * (1 - c.ValidationFraction) * (c.Augment == AugmentMode.Offline ? 2 : 1);
        double perEpochEval = (pool * c.ValidationFraction + BatchNormCalibration.DefaultImages) / (3 * TrainImagesPerSecond);
        return c.Epochs * (images / TrainImagesPerSecond + perEpochEval + 1);
    }
}
