using Fmnist.Data;
using Fmnist.Features;
using Fmnist.Models.Knn;

namespace Fmnist.Explanations;

/// <summary>A training image close to the one explained.</summary>
/// <param name="Index">Its index in the training set (0..59,999 for the full set).</param>
/// <param name="Label">Its true label.</param>
/// <param name="Distance">Hamming distance between the two binarized images: pixels that differ, 0..784.</param>
/// <param name="Image">The training image, 784 raw bytes.</param>
internal sealed record Neighbour(int Index, int Label, int Distance, byte[] Image)
{
    public string Class => ClassNames.All[Label];
}

/// <summary>
/// The training set packed for the Hamming KNN that `fmnist knn` scores (pixel &gt; 127, the seed's binarization), so
/// each explanation's nearest training images cost one exact search. The packing is the whole file's
/// <see cref="Trust.TrainingNeighbours"/>, shared with every other index and judge of the same set in the process.
/// Safe to share between threads.
/// </summary>
internal sealed class NeighbourIndex
{
    public const int DefaultThreshold = 127;
    private readonly BitImages _bits;

    public NeighbourIndex(LabeledImages train, int threshold = DefaultThreshold)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.Count == 0) throw new FmnistException("no training images to find neighbours among");
        Train = train;
        Threshold = threshold;
        _bits = Trust.TrainingNeighbours.Of(train, Trust.TrainingNeighbours.All).Bits(threshold);
    }

    public LabeledImages Train { get; }
    public int Threshold { get; }

    /// <summary>The <paramref name="k"/> nearest training images of each image, by (distance, training index).</summary>
    public IReadOnlyList<IReadOnlyList<Neighbour>> Nearest(byte[] images, int k)
    {
        if (k < 1 || k > Train.Count) throw new FmnistException($"neighbours must be 1..{Train.Count}, got {k}");
        var queries = BitImages.Pack(images, Threshold);
        // A few queries: the vector kernels' popcount-sorted layout of the whole training set costs more than
        // comparing every pair. The kernels give identical answers (KnnTests), so this changes only the time.
        var kernel = queries.Count < 32 ? SearchKernel.Scalar : SearchKernel.Auto;
        var nb = HammingSearch.Search(_bits, queries, k, kernel);
        return [.. Enumerable.Range(0, queries.Count).Select(q => (IReadOnlyList<Neighbour>)[.. Enumerable.Range(q * k, k)
            .Select(j => new Neighbour(nb.Index[j], Train.Labels[nb.Index[j]], nb.Distance[j], Train.Image(nb.Index[j]).ToArray()))])];
    }
}
