using System.Diagnostics;
using Fmnist.Data;
using Fmnist.Features;

namespace Fmnist.Models.Knn;

/// <param name="Shifted">Add one-pixel-shifted copies of every training image (5x the training set).</param>
internal sealed record KnnOptions(IReadOnlyList<int> Ks, int Threshold = 127, KnnWeights Weights = KnnWeights.Uniform,
    SearchKernel Kernel = SearchKernel.Auto, bool Shifted = false)
{
    public static readonly IReadOnlyList<int> SeedKs = [1, 4, 9, 20, 50, 100];
}

internal sealed record KnnScore(int K, double Accuracy, int Correct, byte[] Predictions);

internal sealed record KnnRun(int Threshold, KnnWeights Weights, int Train, int Test, IReadOnlyList<KnnScore> Results,
    double Seconds, double PackSeconds, double SearchSeconds, string Kernel);

/// <summary>Binarize, pack, find the max(K) nearest once, and score every requested K from that pass.</summary>
internal static class KnnClassifier
{
    public static KnnRun Run(LabeledImages train, LabeledImages test, KnnOptions options)
    {
        if (options.Ks.Count == 0) throw new ArgumentException("at least one K is needed");
        int maxK = options.Ks.Max();
        if (options.Ks.Min() < 1 || maxK > train.Count)
            throw new ArgumentOutOfRangeException(nameof(options), $"every K must be in 1..{train.Count}");
        var total = Stopwatch.StartNew();
        var labels = train.Labels;
        if (options.Shifted)
        {
            train = Shifts.Expand(train);
            labels = train.Labels;
        }
        var trainBits = BitImages.Pack(train.Images, options.Threshold);
        var testBits = BitImages.Pack(test.Images, options.Threshold);
        double pack = total.Elapsed.TotalSeconds;
        var kernel = HammingSearch.Resolve(options.Kernel);
        var nb = HammingSearch.Search(trainBits, testBits, maxK, kernel);
        double search = total.Elapsed.TotalSeconds - pack;
        var scores = options.Ks.Select(k => Score(nb, labels, test.Labels, k, options.Weights)).ToList();
        return new KnnRun(options.Threshold, options.Weights, train.Count, test.Count, scores,
            total.Elapsed.TotalSeconds, pack, search, HammingSearch.Name(kernel));
    }

    public static KnnScore Score(Neighbours nb, byte[] trainLabels, byte[] testLabels, int k, KnnWeights weights)
    {
        var predictions = KnnVote.Predict(nb, trainLabels, k, weights);
        int correct = 0;
        for (int i = 0; i < predictions.Length; i++) if (predictions[i] == testLabels[i]) correct++;
        return new KnnScore(k, (double)correct / predictions.Length, correct, predictions);
    }
}
