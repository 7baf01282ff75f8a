using Fmnist.Data;

namespace Fmnist.Trust;

/// <summary>One bin of a reliability diagram: the images whose top probability fell in [Lower, Upper).</summary>
internal sealed record ReliabilityBin(double Lower, double Upper, int Count, double Confidence, double Accuracy);

/// <summary>How well probabilities match frequencies on one labelled set.</summary>
/// <param name="Nll">Mean negative log-likelihood of the true class (nats).</param>
/// <param name="Ece">Expected calibration error over 15 equal-width confidence bins (0..1).</param>
public sealed record CalibrationScore(double Nll, double Ece);

/// <summary>
/// Temperature scaling (Guo et al. 2017): one number T that divides the logits before the softmax. It keeps
/// every argmax, so accuracy is untouched, and is fitted by minimising the NLL on held-out images. It works on
/// probabilities alone, since log p differs from the logits by a per-row constant that the softmax removes;
/// so it applies alike to one network, an ensemble's mean and test-time views.
/// </summary>
internal static class Calibration
{
    /// <summary>The number of bins of the ECE and the reliability diagram.</summary>
    public const int Bins = 15;

    // A probability that underflowed to 0 in float still has a finite log-probability.
    private const double Floor = 1e-38;

    /// <summary>softmax(log p / T), row by row (N*10 in, N*10 out).</summary>
    public static float[] Apply(float[] probabilities, double temperature)
    {
        if (temperature <= 0 || double.IsNaN(temperature)) throw new ArgumentOutOfRangeException(nameof(temperature), "temperature must be positive");
        if (temperature == 1) return probabilities;
        var result = new float[probabilities.Length];
        Span<double> logits = stackalloc double[ClassNames.Count];
        for (int row = 0; row < probabilities.Length; row += ClassNames.Count)
        {
            Scaled(probabilities.AsSpan(row, ClassNames.Count), 1 / temperature, logits);
            for (int c = 0; c < ClassNames.Count; c++) result[row + c] = (float)Math.Exp(logits[c]);
        }
        return result;
    }

    /// <summary>
    /// The temperature that minimises the NLL of <paramref name="labels"/>. The NLL is convex in the inverse
    /// temperature, so a golden-section search over [1/20, 20] finds it; a fixed number of steps keeps the
    /// answer the same on every run.
    /// </summary>
    public static double FitTemperature(float[] probabilities, byte[] labels)
    {
        Check(probabilities, labels);
        if (labels.Length == 0) throw new ArgumentException("no images to calibrate on", nameof(labels));
        double lo = 1.0 / 20, hi = 20;
        double ratio = (Math.Sqrt(5) - 1) / 2;
        double a = hi - ratio * (hi - lo), b = lo + ratio * (hi - lo);
        double fa = NllAt(probabilities, labels, a), fb = NllAt(probabilities, labels, b);
        for (int step = 0; step < 80; step++)
        {
            if (fa <= fb) { hi = b; b = a; fb = fa; a = hi - ratio * (hi - lo); fa = NllAt(probabilities, labels, a); }
            else { lo = a; a = b; fa = fb; b = lo + ratio * (hi - lo); fb = NllAt(probabilities, labels, b); }
        }
        return 1 / ((lo + hi) / 2);
    }

    /// <summary>NLL and ECE of <paramref name="probabilities"/> against <paramref name="labels"/>.</summary>
    public static CalibrationScore Score(float[] probabilities, byte[] labels) =>
        new(NllAt(probabilities, labels, 1), Ece(probabilities, labels));

    /// <summary>Expected calibration error: the count-weighted mean |accuracy - confidence| over the bins.</summary>
    public static double Ece(float[] probabilities, byte[] labels)
    {
        var bins = Reliability(probabilities, labels);
        int n = labels.Length;
        return n == 0 ? 0 : bins.Sum(b => b.Count * Math.Abs(b.Accuracy - b.Confidence)) / n;
    }

    /// <summary>The reliability diagram's bins (equal width over [0, 1]; empty bins included, with zeros).</summary>
    public static IReadOnlyList<ReliabilityBin> Reliability(float[] probabilities, byte[] labels)
    {
        Check(probabilities, labels);
        var count = new int[Bins];
        var confidence = new double[Bins];
        var correct = new int[Bins];
        for (int i = 0; i < labels.Length; i++)
        {
            var row = probabilities.AsSpan(i * ClassNames.Count, ClassNames.Count);
            int best = 0;
            for (int c = 1; c < row.Length; c++) if (row[c] > row[best]) best = c;
            int bin = Math.Min(Bins - 1, (int)(row[best] * Bins));
            count[bin]++;
            confidence[bin] += row[best];
            if (best == labels[i]) correct[bin]++;
        }
        return Enumerable.Range(0, Bins).Select(b => new ReliabilityBin((double)b / Bins, (double)(b + 1) / Bins, count[b],
            count[b] == 0 ? 0 : confidence[b] / count[b], count[b] == 0 ? 0 : (double)correct[b] / count[b])).ToList();
    }

    private static double NllAt(float[] probabilities, byte[] labels, double inverseTemperature)
    {
        Span<double> logits = stackalloc double[ClassNames.Count];
        double sum = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            Scaled(probabilities.AsSpan(i * ClassNames.Count, ClassNames.Count), inverseTemperature, logits);
            sum -= logits[labels[i]];
        }
        return labels.Length == 0 ? 0 : sum / labels.Length;
    }

    /// <summary>log softmax(log p * beta) of one row, into <paramref name="result"/>.</summary>
    private static void Scaled(ReadOnlySpan<float> p, double beta, Span<double> result)
    {
        double max = double.NegativeInfinity;
        for (int c = 0; c < p.Length; c++)
        {
            result[c] = Math.Log(Math.Max(p[c], Floor)) * beta;
            max = Math.Max(max, result[c]);
        }
        double sum = 0;
        for (int c = 0; c < p.Length; c++) sum += Math.Exp(result[c] - max);
        double log = max + Math.Log(sum);
        for (int c = 0; c < p.Length; c++) result[c] -= log;
    }

    private static void Check(float[] probabilities, byte[] labels)
    {
        if (probabilities.Length != labels.Length * ClassNames.Count)
            throw new ArgumentException($"{probabilities.Length} probabilities for {labels.Length} labels; expected {ClassNames.Count} per image", nameof(probabilities));
    }
}
