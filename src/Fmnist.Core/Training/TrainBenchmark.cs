using System.Diagnostics;
using Fmnist.Data;
using Fmnist.Features;
using Fmnist.Models.CnnLstm;
using static TorchSharp.torch;

namespace Fmnist.Training;

public sealed record TrainBenchResult(int BatchSize, int Batches, double ImagesPerSecond, double InferenceImagesPerSecond,
    double RssStartMb, double RssEndMb, int Threads);

/// <summary>
/// Times full training steps (input preparation, forward, backward, Adam) of a model on real images,
/// after a warm-up, the same code path as <see cref="Trainer"/> uses; then inference throughput.
/// </summary>
public static class TrainBenchmark
{
    public static TrainBenchResult Run(LabeledImages images, TrainConfig config, int batches = 30, int warmup = 3)
    {
        TorchRuntime.Initialize();
        manual_seed(config.Seed);
        using var net = new CnnLstmNet(config.Model);
        using var optimizer = optim.Adam(net.parameters(), config.LearningRate);
        var norm = Normalization.FromImages(images);
        using var all = tensor(images.Images).reshape(images.Count, 1, 28, 28);
        using var labels = tensor(images.Labels.Select(l => (long)l).ToArray());
        var rng = new Random(config.Seed);
        net.train();
        double rssStart = 0;
        var watch = new Stopwatch();
        for (int b = 0; b < warmup + batches; b++)
        {
            if (b == warmup)
            {
                rssStart = ProcessMemory.ResidentMb();
                watch.Start();
            }
            using var scope = NewDisposeScope();
            var idx = randint(images.Count, [config.BatchSize], dtype: ScalarType.Int64);
            var x = all.index_select(0, idx).to_type(ScalarType.Float32).div_(255.0);
            if (config.Augment == AugmentMode.Online) x = Augmenter.Apply(x, config.Augmentation, rng);
            x = x.sub_(norm.Mean).div_(norm.Std);
            var loss = nn.functional.cross_entropy(net.call(x), labels.index_select(0, idx));
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            _ = loss.item<float>();
        }
        double trainRate = batches * config.BatchSize / watch.Elapsed.TotalSeconds;
        var infer = Stopwatch.StartNew();
        var subset = images.Take(Math.Min(images.Count, 5000));
        Evaluation.Evaluator.Probabilities(net, subset.Images, norm);
        double inferRate = subset.Count / infer.Elapsed.TotalSeconds;
        return new TrainBenchResult(config.BatchSize, batches, trainRate, inferRate, rssStart, ProcessMemory.ResidentMb(), get_num_threads());
    }

}
