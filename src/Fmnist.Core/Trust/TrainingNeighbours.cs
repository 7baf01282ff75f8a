using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Fmnist.Data;
using Fmnist.Features;
using Fmnist.Models.Knn;

namespace Fmnist.Trust;

/// <summary>A training image close to a query: its index in the training file, class and Hamming distance.</summary>
internal sealed record Neighbour(int Index, int Label, int Distance);

/// <summary>
/// The training garments a model learned from, binarized for the exact Hamming search the KNN uses: the distance
/// from a photo to the nearest of them says whether anything like it was ever seen, and the nearest ones show
/// what the photo resembles. The one source of packed training images in a process: <see cref="Of"/> gives callers
/// with the same training set and reference the same instance, whose packings (<see cref="Bits"/>, one per threshold)
/// are made once each. So calibrating and then benchmarking select and pack the run's images once, and explain's
/// index (<see cref="Explanations.NeighbourIndex"/>, the whole set through <see cref="All"/> at its own threshold)
/// shares the entry that a run trained without validation is judged against.
/// </summary>
internal sealed class TrainingNeighbours
{
    /// <summary>Searches from which a cosine call builds the bound's tables (the answer is the same either way).</summary>
    private const int PruneFrom = 64;

    /// <summary>Pixels above this grey level are ink when binarizing (the KNN's own default).</summary>
    public const int Threshold = 40;

    /// <summary>Every image of the training set: what explanations search, and what a run without validation judges against.</summary>
    public static readonly ReferenceSplit All = new(0, 0, null);

    private readonly int[] _indices;
    private readonly ConcurrentDictionary<int, Lazy<BitImages>> _packed = new();

    /// <summary>The training images and their indices in the training file.</summary>
    public LabeledImages Images { get; }

    private TrainingNeighbours(LabeledImages images, int[] indices)
    {
        Images = images;
        _indices = indices;
        _cosine = new(() => new CosineSearch(images.Images));
    }

    // Keyed by the training set's identity (its arrays are never changed once loaded), so an entry dies with its set.
    private static readonly ConditionalWeakTable<LabeledImages, Kept> Shared = new();

    /// <summary>
    /// The run's own training images: <paramref name="train"/> less the validation images <paramref name="split"/> held
    /// out; the same instance for the same <paramref name="train"/> and reference while it is the latest asked for.
    /// </summary>
    public static TrainingNeighbours Of(LabeledImages train, ReferenceSplit split)
    {
        // Splits that select the same images share an entry: without validation the seed selects nothing, and a
        // limit at or above the set's size keeps all of it.
        var key = new ReferenceSplit(split.ValidationFraction, split.ValidationFraction > 0 ? split.SplitSeed : 0,
            split.TrainLimit < train.Count ? split.TrainLimit : null);
        return Shared.GetValue(train, t => new Kept(t)).Get(key);
    }

    /// <summary>
    /// What one training set keeps: its whole-set entry (no copy, only its packings) and the latest other reference.
    /// Calibrating then benchmarking, or judging beside explaining, reuse them; a process that trains run after run
    /// (a sweep, each with its own split) does not pile up a copy of the images per split.
    /// </summary>
    private sealed class Kept(LabeledImages train)
    {
        private readonly Lazy<TrainingNeighbours> _all = new(() => Build(train, All));
        private readonly Lock _gate = new();
        private (ReferenceSplit Key, Lazy<TrainingNeighbours> Value)? _latest;

        public TrainingNeighbours Get(ReferenceSplit key)
        {
            if (key == All) return _all.Value;
            Lazy<TrainingNeighbours> entry;
            lock (_gate)
            {
                if (_latest is not { } latest || latest.Key != key) _latest = latest = (key, new(() => Build(train, key)));
                entry = latest.Value;
            }
            return entry.Value;
        }
    }

    private static TrainingNeighbours Build(LabeledImages train, ReferenceSplit split)
    {
        var source = train.Take(split.TrainLimit);
        if (split.ValidationFraction <= 0) return new TrainingNeighbours(source, [.. Enumerable.Range(0, source.Count)]);
        var indices = Splits.Stratified(source.Labels, split.ValidationFraction, split.SplitSeed).Train;
        return new TrainingNeighbours(source.Select(indices), indices);
    }

    /// <summary>The images binarized at <paramref name="threshold"/> (ink above it), packed on first use and then kept.</summary>
    public BitImages Bits(int threshold) =>
        _packed.GetOrAdd(threshold, t => new(() => BitImages.Pack(Images.Images, t))).Value;

    /// <summary>Builds now what the searches would build on their first call (a server's first requests should not wait for it).</summary>
    public void Prepare()
    {
        HammingSearch.Prepare(Packed);
        _cosine.Value.Prepare();
    }

    /// <summary>The packing the recognition rule searches.</summary>
    private BitImages Packed => Bits(Threshold);

    /// <summary>The Hamming distance from each image (N*784 bytes) to its nearest training image.</summary>
    public int[] NearestDistance(byte[] images)
    {
        if (images.Length == 0) return [];
        var found = HammingSearch.Search(Packed, BitImages.Pack(images, Threshold), 1);
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
        var packed = Packed;
        var found = HammingSearch.Search(packed, queries, 1);
        return Enumerable.Range(0, queries.Count).Select(q =>
        {
            int ink = Ink(queries.Image(q)) + Ink(packed.Image(found.Index[q]));
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
        var search = _cosine.Value;
        var result = new double[images.Length / ImageShape.Pixels];
        if (result.Length == 0) return result;
        // The nearest silhouettes are usually among the most similar grey images: compared first, they let the
        // search skip most of the rest from the start.
        int likely = Math.Min(4, Images.Count);
        var guesses = HammingSearch.Search(Packed, BitImages.Pack(images, Threshold), likely).Index;
        // The bound's tables cost about a hundred full searches: built for a large call, or kept once a server prepared them.
        bool prune = search.Prepared || result.Length >= PruneFrom;
        Parallel.For(0, result.Length, q => result[q] = search.Distance(images.AsSpan(q * ImageShape.Pixels, ImageShape.Pixels),
            guesses.AsSpan(q * likely, likely), prune: prune));
        return result;
    }

    /// <summary>The distances of <paramref name="images"/> in the measure a rule names (<see cref="OodRule.NeighbourMetric"/>).</summary>
    public double[] Nearest(byte[] images, string metric) => metric switch
    {
        OodRule.Metrics.Cosine => NearestCosine(images),
        OodRule.Metrics.Dice => NearestDice(images),
        _ => throw new FmnistException($"unknown neighbour metric '{metric}' (expected {OodRule.Metrics.Cosine} or {OodRule.Metrics.Dice})"),
    };

    private readonly Lazy<CosineSearch> _cosine;

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
        var found = HammingSearch.Search(Packed, BitImages.Pack(images, Threshold), k);
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
