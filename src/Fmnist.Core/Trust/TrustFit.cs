using Fmnist.Data;
using Fmnist.Evaluation;
using Fmnist.Imaging;
using Fmnist.Inference;

namespace Fmnist.Trust;

/// <summary>
/// Fits what trust.json holds on a model's validation images: the temperature on the images as they are, and the
/// recognition thresholds on the same images rendered as photos (<see cref="ProductPhoto"/>), so that
/// <see cref="KeepRate"/> of them stay recognized.
/// </summary>
internal static class TrustFit
{
    /// <summary>
    /// The share of validation garments rendered as photos that the recognition rule keeps. Chosen on the OOD
    /// benchmark's dev split, the largest on a 0.005 grid that still refuses 90% of its non-garments: photos from
    /// another renderer sit further from the training images, so keeping 95% of these renders kept 92.3% of those.
    /// </summary>
    public const double KeepRate = 0.965;

    /// <summary>How many validation images are rendered as photos to fit the thresholds (rendering is the slow part;
    /// 4,000 leave 140 beyond a 96.5% threshold).</summary>
    public const int PhotoImages = 4_000;

    /// <summary>Calibrates <paramref name="model"/> (uncalibrated) on <paramref name="validation"/>.</summary>
    /// <param name="model">The model, its probabilities not yet temperature-scaled.</param>
    /// <param name="validation">Images the model never trained on.</param>
    /// <param name="neighbours">The model's training images.</param>
    /// <param name="reference">Which images those are.</param>
    /// <param name="calibratedOn">Says in words what <paramref name="validation"/> is.</param>
    public static TrustInfo Fit(IClassifier model, LabeledImages validation, TrainingNeighbours neighbours, ReferenceSplit reference, string calibratedOn)
    {
        if (validation.Count == 0) throw new ArgumentException("no validation images", nameof(validation));
        var raw = model.Probabilities(validation.Images);
        double t = Calibration.FitTemperature(raw, validation.Labels);
        var map = TopMap.FitIfItHelps(Calibration.Apply(raw, t), validation.Labels);
        var before = Calibration.Score(raw, validation.Labels);
        var after = Calibration.Score(Calibration.Apply(raw, t, map), validation.Labels);

        var photos = ProductPhoto.RoundTrip(validation.Take(PhotoImages));
        var pixels = photos.SelectMany(p => p.Pixels).ToArray();
        var confidence = TopProbability(Calibration.Apply(model.Probabilities(pixels), t, map));
        var distance = neighbours.NearestCosine(pixels);
        var rule = FitRule(photos.Select(p => p.Signals).ToList(), distance, confidence);
        return new TrustInfo(t, calibratedOn, validation.Count, Round(before), Round(after), rule, reference, map);
    }

    /// <summary>
    /// The photo checks at their fixed levels, then one common refusal quantile q for the two fitted scores (the
    /// neighbour dissimilarity above its 1-q quantile, the confidence below its q quantile), the largest q that still
    /// keeps <see cref="KeepRate"/> of the images; bisection over a fixed number of steps, so it is deterministic.
    /// Without <paramref name="confidence"/> (a model whose probabilities were never held out) only the
    /// dissimilarity is fitted.
    /// </summary>
    public static OodRule FitRule(IReadOnlyList<PhotoSignals> signals, double[] distance, double[]? confidence)
    {
        var useConfidence = confidence is not null;
        confidence ??= Enumerable.Repeat(1.0, distance.Length).ToArray();
        var fixedRule = OodRule.PhotoChecksOnly;
        int n = signals.Count;
        var sortedDistance = distance.Order().ToArray();
        var sortedConfidence = confidence.Order().ToArray();
        (double MaxDistance, double MinConfidence, double Kept) At(double q)
        {
            double maxDistance = sortedDistance[Math.Clamp((int)Math.Ceiling((1 - q) * n) - 1, 0, n - 1)];
            double minConfidence = q == 0 || !useConfidence ? 0 : sortedConfidence[Math.Clamp((int)Math.Floor(q * n), 0, n - 1)];
            var rule = fixedRule with { MaxNeighbourDistance = maxDistance, MinConfidence = minConfidence };
            int kept = 0;
            for (int i = 0; i < n; i++) if (Recognition.Judge(signals[i], distance[i], confidence[i], rule).Recognized) kept++;
            return (maxDistance, minConfidence, (double)kept / n);
        }
        double lo = 0, hi = 1 - KeepRate;
        for (int step = 0; step < 30; step++)
        {
            double mid = (lo + hi) / 2;
            if (At(mid).Kept >= KeepRate) lo = mid; else hi = mid;
        }
        var best = At(lo);
        var written = fixedRule with { MaxNeighbourDistance = RoundUp(best.MaxDistance), MinConfidence = RoundDown(best.MinConfidence) };
        // What the written thresholds keep, which is what trust.json claims: at least what the fit kept.
        int kept = Enumerable.Range(0, n).Count(i => Recognition.Judge(signals[i], distance[i], confidence[i], written).Recognized);
        return written with { ValidationKept = Math.Round((double)kept / n, 6), ValidationImages = n };
    }

    // Six decimals for trust.json, rounded away from the images the fit kept (each threshold is one of their scores):
    // rounded to nearest, the image at a threshold could fall outside it and the rule keep less than it says.
    private static double RoundUp(double x)
    {
        double r = Math.Round(x, 6);
        return r >= x ? r : Math.Round(r + 1e-6, 6);
    }

    private static double RoundDown(double x)
    {
        double r = Math.Round(x, 6);
        return r <= x ? r : Math.Round(r - 1e-6, 6);
    }

    /// <summary>The top probability of each row (N*10 in, N out).</summary>
    public static double[] TopProbability(float[] probabilities)
    {
        var top = new double[probabilities.Length / ClassNames.Count];
        for (int i = 0; i < top.Length; i++)
        {
            float best = 0;
            for (int c = 0; c < ClassNames.Count; c++) best = Math.Max(best, probabilities[i * ClassNames.Count + c]);
            top[i] = best;
        }
        return top;
    }

    private static CalibrationScore Round(CalibrationScore s) => new(Math.Round(s.Nll, 6), Math.Round(s.Ece, 6));
}
