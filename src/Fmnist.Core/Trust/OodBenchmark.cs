using Fmnist.Data;
using Fmnist.Imaging;

namespace Fmnist.Trust;

/// <summary>One out-of-distribution set against the garments: how each score separates them, and what the rule refused.</summary>
/// <param name="Set">The set's folder name (letters, photos, noise, ...).</param>
/// <param name="Images">How many photos it holds.</param>
/// <param name="Refused">The share the recognition rule answered `recognized: false`.</param>
/// <param name="Auroc">Per score (<see cref="OodBenchmark.Scores"/>; the energy and Mahalanobis scores only for a
/// TorchSharp run folder): the area under the ROC curve separating this set from the garments (1 = perfect, 0.5 = chance).</param>
/// <param name="FprAt95">Per score: the share of this set accepted at the threshold that keeps 95% of the garments.</param>
/// <param name="Reasons">How many of the refused got each reason.</param>
internal sealed record OodSetResult(string Set, int Images, double Refused, IReadOnlyDictionary<string, double> Auroc,
    IReadOnlyDictionary<string, double> FprAt95, IReadOnlyDictionary<string, int> Reasons);

/// <summary>The garments of a benchmark: how many stay recognized and how many of those are classified right.</summary>
/// <param name="GarmentReasons">Why the garments that were not recognized were refused, with counts.</param>
internal sealed record OodBenchmarkResult(int Garments, double GarmentsRecognized, double AccuracyOfRecognized, double Accuracy,
    IReadOnlyList<OodSetResult> Sets, double Refused, IReadOnlyDictionary<string, int> GarmentReasons);

/// <summary>
/// Measures the recognition rule and each score it could use on a folder of photos: <c>garments/&lt;class&gt;/</c>
/// (in-distribution, labelled as <see cref="ClassFolders"/> reads them) and <c>ood/&lt;set&gt;/</c> (anything else).
/// </summary>
internal static class OodBenchmark
{
    /// <summary>The scores compared, each oriented so that higher means less like a garment.</summary>
    public static readonly IReadOnlyList<string> Scores = ["confidence", "entropy", "energy", "mahalanobis", "neighbour_distance", "neighbour_dice", "neighbour_cosine", "ink_share", "shape_share", "border_clutter", "contrast", "rule"];

    /// <summary>Runs <paramref name="model"/> over the benchmark in <paramref name="root"/>.</summary>
    public static OodBenchmarkResult Run(TrustedModel model, string root)
    {
        var garments = ClassFolders.Read(Path.Combine(root, "garments"));
        var oodRoot = Path.Combine(root, "ood");
        if (!Directory.Exists(oodRoot)) throw new FmnistException($"{oodRoot}: folder not found (the benchmark needs garments/<class>/ and ood/<set>/)");
        // A run calibrated before the feature check gets its statistics fitted here, for the study's columns.
        var inside = model.Judge.Features ?? (model.Judge.Neighbours is { } reference ? FeatureScores.Fit(model.Model, reference.Images) : null);
        var (inScores, inPredictions) = Measure(model, inside, garments.Select(g => g.File).ToList());
        int right = 0, recognizedRight = 0, recognized = 0;
        for (int i = 0; i < garments.Count; i++)
        {
            bool correct = inPredictions[i].Top[0].Label == garments[i].Label;
            if (correct) right++;
            if (!inPredictions[i].Recognized) continue;
            recognized++;
            if (correct) recognizedRight++;
        }
        var sets = new List<OodSetResult>();
        int oodTotal = 0, oodRefused = 0;
        foreach (var dir in Directory.GetDirectories(oodRoot).Order(StringComparer.Ordinal))
        {
            var files = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Where(PhotoFiles.IsPhoto).Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0) continue;
            var (outScores, outPredictions) = Measure(model, inside, files);
            int refused = outPredictions.Count(p => !p.Recognized);
            oodTotal += files.Count;
            oodRefused += refused;
            sets.Add(new OodSetResult(Path.GetFileName(dir), files.Count, Math.Round((double)refused / files.Count, 4),
                inScores.Keys.ToDictionary(s => s, s => Math.Round(Auroc(inScores[s], outScores[s]), 4)),
                inScores.Keys.ToDictionary(s => s, s => Math.Round(FprAt95(inScores[s], outScores[s]), 4)),
                Reasons(outPredictions)));
        }
        return new OodBenchmarkResult(garments.Count, Math.Round((double)recognized / garments.Count, 4),
            Math.Round(recognized == 0 ? 0 : (double)recognizedRight / recognized, 4), Math.Round((double)right / garments.Count, 4), sets,
            Math.Round(oodTotal == 0 ? 0 : (double)oodRefused / oodTotal, 4), Reasons(inPredictions));
    }

    private static (Dictionary<string, double[]> Scores, IReadOnlyList<JudgedPrediction> Predictions) Measure(TrustedModel model,
        FeatureScores? inside, IReadOnlyList<string> files)
    {
        var photos = PhotoFiles.OpenAll(files);
        var pixels = photos.SelectMany(p => p.Pixels).ToArray();
        var probabilities = model.Model.Probabilities(pixels);
        double[]? energy = null, mahalanobis = null;
        if (inside is not null) (energy, mahalanobis) = inside.Score(pixels);
        // The judge's own feature statistics are the ones just scored: its distances reuse them.
        var distances = model.Judge.Distances(pixels, ReferenceEquals(inside, model.Judge.Features) ? mahalanobis : null);
        var predictions = model.Judge.Predictions(photos, probabilities, distances);
        var top = TrustFit.TopProbability(probabilities);
        var entropy = Enumerable.Range(0, photos.Count).Select(i =>
        {
            double h = 0;
            for (int c = 0; c < ClassNames.Count; c++)
            {
                double p = probabilities[i * ClassNames.Count + c];
                if (p > 0) h -= p * Math.Log(p);
            }
            return h;
        }).ToArray();
        var scores = new Dictionary<string, double[]?>
        {
            ["confidence"] = top.Select(t => -t).ToArray(),
            ["entropy"] = entropy,
            ["energy"] = energy,
            ["mahalanobis"] = mahalanobis,
            ["neighbour_distance"] = model.Judge.Neighbours?.NearestDistance(pixels).Select(d => (double)d).ToArray() ?? new double[photos.Count],
            ["neighbour_dice"] = distances.Dice ?? new double[photos.Count],
            ["neighbour_cosine"] = (model.Judge.Rule.NeighbourMetric == OodRule.Metrics.Cosine ? distances.Distance : model.Judge.Neighbours?.NearestCosine(pixels)) ?? new double[photos.Count],
            ["ink_share"] = photos.Select(p => -p.Pixels.Count(v => v >= PhotoSignals.InkLevel) / (double)ImageShape.Pixels).ToArray(),
            ["shape_share"] = photos.Select(p => -p.Signals.LargestShapeShare).ToArray(),
            ["border_clutter"] = photos.Select(p => p.Signals.BorderClutter).ToArray(),
            ["contrast"] = photos.Select(p => -p.Signals.Contrast).ToArray(),
            ["rule"] = predictions.Select(p => p.Recognized ? 0.0 : 1.0).ToArray(),
        };
        return (scores.Where(s => s.Value is not null).ToDictionary(s => s.Key, s => s.Value!), predictions);
    }

    private static Dictionary<string, int> Reasons(IReadOnlyList<JudgedPrediction> predictions) =>
        predictions.Where(p => !p.Recognized).GroupBy(p => p.Reason!).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count());

    /// <summary>P(score of an OOD photo &gt; score of a garment), ties counting half (the Mann-Whitney statistic).</summary>
    public static double Auroc(double[] garments, double[] ood)
    {
        if (garments.Length == 0 || ood.Length == 0) return double.NaN;
        var all = garments.Select(v => (v, ood: false)).Concat(ood.Select(v => (v, ood: true))).OrderBy(x => x.v).ToArray();
        double rankSum = 0;
        for (int i = 0; i < all.Length;)
        {
            int j = i;
            while (j < all.Length && all[j].v == all[i].v) j++;
            double rank = (i + j + 1) / 2.0; // mean 1-based rank of the tie group
            for (int k = i; k < j; k++) if (all[k].ood) rankSum += rank;
            i = j;
        }
        double u = rankSum - ood.Length * (ood.Length + 1) / 2.0;
        return u / ((double)ood.Length * garments.Length);
    }

    /// <summary>The share of OOD photos whose score is at or below the garments' 95th percentile (accepted with 95% of garments).</summary>
    public static double FprAt95(double[] garments, double[] ood)
    {
        if (garments.Length == 0 || ood.Length == 0) return double.NaN;
        var sorted = garments.Order().ToArray();
        double threshold = sorted[Math.Clamp((int)Math.Ceiling(0.95 * sorted.Length) - 1, 0, sorted.Length - 1)];
        return ood.Count(v => v <= threshold) / (double)ood.Length;
    }
}
