using Fmnist.Data;
using Fmnist.Features;

namespace Fmnist.Models.Knn;

internal sealed record KnnTrial(int Threshold, int K, KnnWeights Weights, double ValAccuracy, bool Shifted = false);

internal sealed record KnnTuning(KnnTrial Best, IReadOnlyList<KnnTrial> Trials, int TrainCount, int ValCount,
    double TestAccuracy, double Seconds);

/// <summary>
/// Chooses threshold, K and weighting on a stratified validation split of the training set (never the
/// test set): a coarse threshold grid, then every threshold within one coarse step of the best. The
/// chosen setting is then scored once on the test set with the whole training set.
/// </summary>
internal static class KnnTuner
{
    public static readonly IReadOnlyList<int> DefaultKs = [1, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20];

    /// <summary>0, 10, ..., 200: the coarse grid; the search then tries every threshold near the best.</summary>
    public static readonly IReadOnlyList<int> DefaultThresholds = Enumerable.Range(0, 21).Select(i => i * 10).ToArray();

    public static KnnTuning Tune(LabeledImages train, LabeledImages test, IReadOnlyList<int> coarseThresholds,
        IReadOnlyList<int> ks, double valFraction = 0.2, int seed = 1, IProgress<KnnTrial>? progress = null)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var (trIdx, valIdx) = Splits.Stratified(train.Labels, valFraction, seed);
        var fit = train.Select(trIdx);
        var val = train.Select(valIdx);
        var trials = new List<KnnTrial>();
        var tried = new HashSet<int>();

        void Evaluate(int threshold, bool shifted = false)
        {
            if (!shifted && !tried.Add(threshold)) return;
            var pool = shifted ? Shifts.Expand(fit) : fit;
            var nb = HammingSearch.Search(BitImages.Pack(pool.Images, threshold), BitImages.Pack(val.Images, threshold), ks.Max());
            foreach (var weights in new[] { KnnWeights.Uniform, KnnWeights.Distance })
                foreach (var k in ks)
                {
                    var accuracy = KnnClassifier.Score(nb, pool.Labels, val.Labels, k, weights).Accuracy;
                    var trial = new KnnTrial(threshold, k, weights, accuracy, shifted);
                    trials.Add(trial);
                    progress?.Report(trial);
                }
        }

        foreach (var t in coarseThresholds) Evaluate(t);
        var sorted = coarseThresholds.Order().ToArray();
        int step = sorted.Length > 1 ? sorted.Zip(sorted.Skip(1), (a, b) => b - a).Min() : 1;
        int coarseBest = BestOf(trials).Threshold;
        for (int t = Math.Max(0, coarseBest - step + 1); t <= Math.Min(254, coarseBest + step - 1); t++) Evaluate(t);

        // Shifted copies cost 5x the search, so they are tried only at the best threshold found without.
        Evaluate(BestOf(trials).Threshold, shifted: true);
        var best = BestOf(trials);
        var final = KnnClassifier.Run(train, test, new KnnOptions([best.K], best.Threshold, best.Weights, Shifted: best.Shifted));
        return new KnnTuning(best, trials, fit.Count, val.Count, final.Results[0].Accuracy, watch.Elapsed.TotalSeconds);
    }

    // Highest validation accuracy; ties go to the simpler setting (no shifted copies, lower threshold, smaller K, uniform).
    private static KnnTrial BestOf(IEnumerable<KnnTrial> trials) =>
        trials.OrderByDescending(t => t.ValAccuracy).ThenBy(t => t.Shifted).ThenBy(t => t.Threshold).ThenBy(t => t.K).ThenBy(t => t.Weights).First();
}
