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
internal sealed record SpeedProbe(double TrainImagesPerSecond, double KnnPairsPerSecond, string KnnKernel)
{
    /// <summary>Share of all test x train pairs the vector kernels' popcount window compares on the seed's KNN
    /// table (K up to 100, threshold 127): ~26% measured on Fashion-MNIST, rounded up. The scalar kernel compares all.</summary>
    private const double KnnWindowShare = 0.35;

    /// <summary>`knn --tune` over `knn`'s table: 23.6 on one machine (11.8 s and 0.5 s, same kernel), a ratio of work, not of speed.</summary>
    private const double TuneOverTable = 24;

    public static SpeedProbe Measure(TrainConfig config)
    {
        var pixels = RandomPixels(2048);
        double trainRate = TrainRate(config, pixels);

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
        return new SpeedProbe(trainRate, pairs, HammingSearch.Name(kernel));
    }

    /// <summary>Training images per second of this config's step with this process's threads: 4 steps after one warm-up.</summary>
    public static double TrainRate(TrainConfig config, byte[]? pixels = null)
    {
        pixels ??= RandomPixels(2048);
        int count = pixels.Length / ImageShape.Pixels;
        var labels = Enumerable.Range(0, count).Select(i => (byte)(i % 10)).ToArray();
        return TrainBenchmark.Run(new LabeledImages(pixels, labels), config with { TrainLimit = null }, batches: 4, warmup: 1, inferenceImages: 0).ImagesPerSecond;
    }

    private static byte[] RandomPixels(int images)
    {
        var pixels = new byte[images * ImageShape.Pixels];
        new Random(1).NextBytes(pixels);
        return pixels;
    }

    public double KnnTableSeconds(int train, int test) =>
        (double)train * test * (KnnKernel == "scalar" ? 1 : KnnWindowShare) / KnnPairsPerSecond + 0.3;

    public double KnnTuneSeconds(int train, int test) => KnnTableSeconds(train, test) * TuneOverTable;

    /// <summary>Epochs of training steps, plus BatchNorm calibration and validation (inference runs about 3x the training rate).</summary>
    public double TrainingSeconds(TrainConfig c) => c.Epochs * EpochSeconds(c, TrainImagesPerSecond);

    /// <summary>One epoch at the given training rate: its steps, BatchNorm calibration, validation and a second of bookkeeping.</summary>
    public static double EpochSeconds(TrainConfig c, double trainImagesPerSecond)
    {
        double pool = c.TrainLimit is { } limit ? Math.Min(limit, 60000) : 60000;
        double images = pool * (1 - c.ValidationFraction) * (c.Augment == AugmentMode.Offline ? 2 : 1);
        double perEpochEval = (pool * c.ValidationFraction + BatchNormCalibration.DefaultImages) / (3 * trainImagesPerSecond);
        return images / trainImagesPerSecond + perEpochEval + 1;
    }
}
