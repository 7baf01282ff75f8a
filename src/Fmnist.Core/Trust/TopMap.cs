using Fmnist.Data;

namespace Fmnist.Trust;

/// <summary>
/// A monotone map of the top probability, applied after the temperature: knots (confidence, accuracy) from isotonic
/// regression on held-out images, interpolated linearly between them. One temperature cannot straighten every
/// reliability curve (training towards softened targets bends it); this fixes the top-label curve while keeping every argmax. The
/// other classes share what is left in their old proportions.
/// </summary>
/// <param name="Confidence">The knots' top probabilities, increasing.</param>
/// <param name="Accuracy">The accuracy at each knot, non-decreasing.</param>
internal sealed record TopMap(double[] Confidence, double[] Accuracy)
{
    /// <summary>Equal when the knots are (a record would compare the arrays by reference).</summary>
    public bool Equals(TopMap? other) => other is not null && Confidence.SequenceEqual(other.Confidence) && Accuracy.SequenceEqual(other.Accuracy);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Confidence.Length, Confidence.FirstOrDefault(), Accuracy.LastOrDefault());

    /// <summary>The calibrated top probability for a top probability of <paramref name="confidence"/>.</summary>
    public double Map(double confidence)
    {
        if (confidence <= Confidence[0]) return Accuracy[0];
        int last = Confidence.Length - 1;
        if (confidence >= Confidence[last]) return Accuracy[last];
        int hi = Array.BinarySearch(Confidence, confidence);
        if (hi >= 0) return Accuracy[hi];
        hi = ~hi;
        double w = (confidence - Confidence[hi - 1]) / (Confidence[hi] - Confidence[hi - 1]);
        return Accuracy[hi - 1] + w * (Accuracy[hi] - Accuracy[hi - 1]);
    }

    /// <summary>Each row with its top probability mapped (N*10 in, N*10 out). A row whose mapped top would no longer
    /// lead the others keeps its probabilities, so no prediction changes.</summary>
    public float[] Apply(float[] probabilities)
    {
        var result = (float[])probabilities.Clone();
        for (int row = 0; row < probabilities.Length; row += ClassNames.Count)
        {
            var p = result.AsSpan(row, ClassNames.Count);
            int top = 0;
            for (int c = 1; c < p.Length; c++) if (p[c] > p[top]) top = c;
            double confidence = p[top], second = 0;
            for (int c = 0; c < p.Length; c++) if (c != top) second = Math.Max(second, p[c]);
            double mapped = Map(confidence);
            double rest = 1 - confidence;
            if (rest <= 0 || mapped * rest <= second * (1 - mapped)) continue; // the top would not stay on top
            double scale = (1 - mapped) / rest;
            for (int c = 0; c < p.Length; c++) p[c] = c == top ? (float)mapped : (float)(p[c] * scale);
        }
        return result;
    }

    /// <summary>Isotonic regression (pool adjacent violators) of "the top class is right" on the top probability,
    /// one knot per pooled block at its mean confidence; each block's accuracy is shrunk by half an image towards
    /// 1/2 so that no knot promises certainty from a finite sample.</summary>
    public static TopMap Fit(float[] probabilities, byte[] labels)
    {
        int n = labels.Length;
        if (n == 0) throw new ArgumentException("no images to fit on", nameof(labels));
        var confidence = TrustFit.TopProbability(probabilities);
        var predicted = Evaluation.Evaluator.ArgMax(probabilities);
        var order = Enumerable.Range(0, n).OrderBy(i => confidence[i]).ThenBy(i => i).ToArray();
        var sumX = new List<double>(); var sumY = new List<double>(); var count = new List<int>();
        foreach (int i in order)
        {
            sumX.Add(confidence[i]); sumY.Add(predicted[i] == labels[i] ? 1 : 0); count.Add(1);
            // Pool while the previous block is at least as accurate: blocks then rise strictly.
            while (count.Count > 1 && sumY[^2] * count[^1] >= sumY[^1] * count[^2])
            {
                sumX[^2] += sumX[^1]; sumY[^2] += sumY[^1]; count[^2] += count[^1];
                sumX.RemoveAt(sumX.Count - 1); sumY.RemoveAt(sumY.Count - 1); count.RemoveAt(count.Count - 1);
            }
        }
        var x = new double[count.Count];
        var y = new double[count.Count];
        for (int b = 0; b < x.Length; b++)
        {
            x[b] = Math.Round(sumX[b] / count[b], 6);
            y[b] = Math.Round((sumY[b] + 0.5) / (count[b] + 1), 6);
            if (b > 0) y[b] = Math.Max(y[b], y[b - 1]); // shrinking may undo the order where blocks differ in size
        }
        // Knots must rise strictly for the interpolation: merge equal confidences (rounding, or identical rows).
        var keep = Enumerable.Range(0, x.Length).Where(b => b == x.Length - 1 || x[b] < x[b + 1]).ToArray();
        return new TopMap(keep.Select(b => x[b]).ToArray(), keep.Select(b => y[b]).ToArray());
    }

    /// <summary>
    /// The map fitted on all of <paramref name="probabilities"/>, or null when it would not help: fitted on the even
    /// images it must lower the NLL of the odd ones, and the reverse, in sum (a model already calibrated by its
    /// temperature gains nothing from it, and then keeps the temperature alone).
    /// </summary>
    public static TopMap? FitIfItHelps(float[] probabilities, byte[] labels)
    {
        if (labels.Length < 200) return null; // too few images for a curve
        var (even, odd) = (Half(probabilities, labels, 0), Half(probabilities, labels, 1));
        double plain = Calibration.Score(even.P, even.Labels).Nll + Calibration.Score(odd.P, odd.Labels).Nll;
        double mapped = Calibration.Score(Fit(odd.P, odd.Labels).Apply(even.P), even.Labels).Nll
                        + Calibration.Score(Fit(even.P, even.Labels).Apply(odd.P), odd.Labels).Nll;
        return mapped < plain ? Fit(probabilities, labels) : null;
    }

    private static (float[] P, byte[] Labels) Half(float[] probabilities, byte[] labels, int parity)
    {
        var rows = Enumerable.Range(0, labels.Length).Where(i => i % 2 == parity).ToArray();
        return (rows.SelectMany(i => probabilities.AsSpan(i * ClassNames.Count, ClassNames.Count).ToArray()).ToArray(),
            rows.Select(i => labels[i]).ToArray());
    }
}
