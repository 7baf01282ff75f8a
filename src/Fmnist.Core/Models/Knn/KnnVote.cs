using System.Runtime.CompilerServices;
using Fmnist.Data;

namespace Fmnist.Models.Knn;

internal enum KnnWeights { Uniform, Distance }

/// <summary>
/// Turns ordered neighbours into class predictions.
/// Uniform: the class with most of the K neighbours. Distance: each neighbour votes 1/distance; when
/// any of the K is at distance 0, only those vote, one each. Either way a tie goes to the tied class
/// whose nearest member comes first in (distance, index) order.
/// </summary>
internal static class KnnVote
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per call: skip the slow first JIT tier
    public static byte[] Predict(Neighbours nb, ReadOnlySpan<byte> trainLabels, int k, KnnWeights weights)
    {
        if (k < 1 || k > nb.K) throw new ArgumentOutOfRangeException(nameof(k), $"K must be 1..{nb.K}");
        var predictions = new byte[nb.Queries];
        Span<double> score = stackalloc double[ClassNames.Count];
        Span<int> first = stackalloc int[ClassNames.Count];
        for (int q = 0; q < nb.Queries; q++)
        {
            var idx = nb.IndicesOf(q)[..k];
            var dist = nb.DistancesOf(q)[..k];
            score.Clear();
            first.Fill(int.MaxValue);
            bool exact = weights == KnnWeights.Distance && dist[0] == 0;
            for (int i = 0; i < k; i++)
            {
                int c = trainLabels[idx[i]];
                if (first[c] == int.MaxValue) first[c] = i;
                score[c] += weights == KnnWeights.Uniform ? 1.0
                    : exact ? (dist[i] == 0 ? 1.0 : 0.0)
                    : 1.0 / dist[i];
            }
            int best = -1;
            for (int c = 0; c < ClassNames.Count; c++)
            {
                if (first[c] == int.MaxValue) continue;
                if (best < 0 || score[c] > score[best] || (score[c] == score[best] && first[c] < first[best])) best = c;
            }
            predictions[q] = (byte)best;
        }
        return predictions;
    }
}
