using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Fmnist.Data;
using Fmnist.Features;
using Fmnist.Models.Knn;

namespace Fmnist.Trust;

/// <summary>A training image close to a query: its index in the training file, class and Hamming distance.</summary>
internal sealed record Neighbour(int Index, int Label, int Distance);

/// <summary>
/// The training garments a model learned from, binarized for the exact Hamming search the KNN uses: the distance
/// from a photo to the nearest of them says whether anything like it was ever seen, and the nearest ones show
/// what the photo resembles.
/// </summary>
internal sealed class TrainingNeighbours
{
    /// <summary>Pixels above this grey level are ink when binarizing (the KNN's own default).</summary>
    public const int Threshold = 40;

    private readonly BitImages _bits;
    private readonly int[] _indices;

    /// <summary>The training images and their indices in the training file.</summary>
    public LabeledImages Images { get; }

    private TrainingNeighbours(LabeledImages images, int[] indices)
    {
        Images = images;
        _indices = indices;
        _bits = BitImages.Pack(images.Images, Threshold);
        _norms = new(() => Enumerable.Range(0, images.Count).Select(i => Math.Sqrt(Dot(images.Image(i), images.Image(i)))).ToArray());
    }

    /// <summary>The run's own training images: <paramref name="train"/> less the validation images <paramref name="split"/> held out.</summary>
    public static TrainingNeighbours Of(LabeledImages train, ReferenceSplit split)
    {
        var source = train.Take(split.TrainLimit);
        var indices = split.ValidationFraction > 0
            ? Splits.Stratified(source.Labels, split.ValidationFraction, split.SplitSeed).Train
            : Enumerable.Range(0, source.Count).ToArray();
        return new TrainingNeighbours(source.Select(indices), indices);
    }

    /// <summary>The Hamming distance from each image (N*784 bytes) to its nearest training image.</summary>
    public int[] NearestDistance(byte[] images)
    {
        if (images.Length == 0) return [];
        var found = HammingSearch.Search(_bits, BitImages.Pack(images, Threshold), 1);
        return found.Distance;
    }

    /// <summary>
    /// The Hamming distance to the nearest training image over the ink both images hold (0 = same, 1 = no overlap,
    /// the Dice dissimilarity): a thin glyph is close in plain Hamming distance to a thin sandal strap only because
    /// both have little ink, not because they look alike.
    /// </summary>
    public double[] NearestDice(byte[] images)
    {
        if (images.Length == 0) return [];
        var queries = BitImages.Pack(images, Threshold);
        var found = HammingSearch.Search(_bits, queries, 1);
        return Enumerable.Range(0, queries.Count).Select(q =>
        {
            int ink = Ink(queries.Image(q)) + Ink(_bits.Image(found.Index[q]));
            return ink == 0 ? 1.0 : (double)found.Distance[q] / ink;
        }).ToArray();
    }

    /// <summary>
    /// 1 - the cosine similarity of the grey levels to the most similar training image (0 = the same image up to
    /// brightness, 1 = no pixel in common). Unlike the silhouettes, it sees how the ink is spread: a glyph's even
    /// strokes against a garment's shading. Exact integer dot products, so every run gives the same distances.
    /// </summary>
    public double[] NearestCosine(byte[] images)
    {
        int n = images.Length / ImageShape.Pixels;
        var norms = _norms.Value;
        var train = Images.Images;
        var result = new double[n];
        Parallel.For(0, n, q =>
        {
            var query = images.AsSpan(q * ImageShape.Pixels, ImageShape.Pixels);
            long self = Dot(query, query);
            if (self == 0) { result[q] = 1; return; }
            double best = 0;
            for (int t = 0; t < norms.Length; t++)
            {
                if (norms[t] == 0) continue;
                double similarity = Dot(query, train.AsSpan(t * ImageShape.Pixels, ImageShape.Pixels)) / (Math.Sqrt(self) * norms[t]);
                if (similarity > best) best = similarity;
            }
            result[q] = Math.Max(0, 1 - best);
        });
        return result;
    }

    /// <summary>The distances of <paramref name="images"/> in the measure a rule names (<see cref="OodRule.NeighbourMetric"/>).</summary>
    public double[] Nearest(byte[] images, string metric) => metric switch
    {
        OodRule.Metrics.Cosine => NearestCosine(images),
        OodRule.Metrics.Dice => NearestDice(images),
        _ => throw new FmnistException($"unknown neighbour metric '{metric}' (expected {OodRule.Metrics.Cosine} or {OodRule.Metrics.Dice})"),
    };

    private readonly Lazy<double[]> _norms;

    private static long Dot(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        long sum = 0;
        int i = 0;
        if (Avx2.IsSupported)
        {
            // Bytes widened to 16 bits; pmaddwd sums adjacent products into 32 bits (at most 2 * 255^2 each).
            var acc = Vector256<int>.Zero;
            for (; i + 16 <= a.Length; i += 16)
            {
                var x = Avx2.ConvertToVector256Int16(Vector128.Create(a.Slice(i, 16)));
                var y = Avx2.ConvertToVector256Int16(Vector128.Create(b.Slice(i, 16)));
                acc = Avx2.Add(acc, Avx2.MultiplyAddAdjacent(x, y));
            }
            sum = Vector256.Sum(acc);
        }
        for (; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    private static int Ink(ReadOnlySpan<uint> bits)
    {
        int n = 0;
        foreach (var w in bits) n += System.Numerics.BitOperations.PopCount(w);
        return n;
    }

    /// <summary>The <paramref name="k"/> nearest training images of each query, nearest first.</summary>
    public IReadOnlyList<IReadOnlyList<Neighbour>> Nearest(byte[] images, int k)
    {
        if (images.Length == 0) return [];
        var found = HammingSearch.Search(_bits, BitImages.Pack(images, Threshold), k);
        int n = images.Length / ImageShape.Pixels;
        return Enumerable.Range(0, n).Select(q => (IReadOnlyList<Neighbour>)Enumerable.Range(0, k)
            .Select(j => found.Index[q * k + j])
            .Select((i, j) => new Neighbour(_indices[i], Images.Labels[i], found.Distance[q * k + j])).ToList()).ToList();
    }

    /// <summary>The 784 pixels of training image <paramref name="index"/> (an index in the training file).</summary>
    public ReadOnlySpan<byte> Image(int index)
    {
        int i = Array.BinarySearch(_indices, index);
        if (i < 0) throw new ArgumentOutOfRangeException(nameof(index), $"training image {index} is not in the reference");
        return Images.Image(i);
    }
}
