namespace Fmnist.Data;

/// <summary>Images (N*784 bytes, row-major, 0 = black) and their labels (0..9).</summary>
public sealed record LabeledImages(byte[] Images, byte[] Labels)
{
    /// <summary>The number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>Image <paramref name="i"/>: 784 bytes, 28 rows of 28 pixels.</summary>
    public ReadOnlySpan<byte> Image(int i) => Images.AsSpan(i * ImageShape.Pixels, ImageShape.Pixels);

    /// <summary>The first <paramref name="limit"/> images (all when null or larger).</summary>
    public LabeledImages Take(int? limit) =>
        limit is null || limit >= Count ? this
            : new(Images[..(limit.Value * ImageShape.Pixels)], Labels[..limit.Value]);

    /// <summary>The images at the given indices, in that order.</summary>
    public LabeledImages Select(IReadOnlyList<int> indices)
    {
        var images = new byte[indices.Count * ImageShape.Pixels];
        var labels = new byte[indices.Count];
        for (int i = 0; i < indices.Count; i++)
        {
            Image(indices[i]).CopyTo(images.AsSpan(i * ImageShape.Pixels));
            labels[i] = Labels[indices[i]];
        }
        return new(images, labels);
    }

    /// <summary>How many images each class has, by label.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[ClassNames.Count];
        foreach (var l in Labels) counts[l]++;
        return counts;
    }
}

/// <summary>The train and test splits as loaded from one data directory.</summary>
public sealed record Dataset(string Directory, LabeledImages Train, LabeledImages Test);
