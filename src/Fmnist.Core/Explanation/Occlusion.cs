using Fmnist.Data;
using Fmnist.Inference;

namespace Fmnist.Explanations;

/// <summary>How the occlusion map is made: a <see cref="Patch"/>-pixel square slid by <see cref="Stride"/> pixels.</summary>
/// <param name="Patch">Side of the square blacked out in each copy.</param>
/// <param name="Stride">Step between neighbouring squares; the last square in each direction touches the edge.</param>
internal sealed record OcclusionSettings(int Patch = OcclusionSettings.DefaultPatch, int Stride = OcclusionSettings.DefaultStride)
{
    public const int DefaultPatch = 6, DefaultStride = 2;

    public void Validate()
    {
        if (Patch is < 1 or > ImageShape.Side) throw new FmnistException($"occlusion patch must be 1..{ImageShape.Side} pixels, got {Patch}");
        if (Stride < 1 || Stride > Patch) throw new FmnistException($"occlusion stride must be 1..{Patch} (the patch), got {Stride}: a larger step leaves pixels uncovered");
    }

    /// <summary>Top-left corners along one axis: every Stride-th, plus the one flush with the far edge.</summary>
    public IReadOnlyList<int> Offsets()
    {
        var offsets = new List<int>();
        for (int o = 0; o + Patch <= ImageShape.Side; o += Stride) offsets.Add(o);
        if (offsets[^1] + Patch < ImageShape.Side) offsets.Add(ImageShape.Side - Patch);
        return offsets;
    }

    /// <summary>How many occluded copies one image takes.</summary>
    public int Copies => Offsets().Count * Offsets().Count; // 12 x 12 = 144 with the defaults
}

/// <summary>
/// Occlusion sensitivity (Zeiler and Fergus 2014): black out one square at a time and see how far the class's
/// probability falls. It needs nothing but the model's probabilities, so it works for every model fmnist opens:
/// TorchSharp runs, ensembles and ONNX files alike. Black (0) is Fashion-MNIST's background, so a patch asks
/// "what if this part of the garment were not there?" rather than adding an edge the model never saw.
/// </summary>
internal static class Occlusion
{
    /// <summary>The occluded copies of each image, one after another: N * <see cref="OcclusionSettings.Copies"/> images.</summary>
    public static byte[] Copies(byte[] images, OcclusionSettings settings)
    {
        settings.Validate();
        CheckImages(images);
        var offsets = settings.Offsets();
        int n = images.Length / ImageShape.Pixels, copies = offsets.Count * offsets.Count;
        var result = new byte[n * copies * ImageShape.Pixels];
        for (int i = 0; i < n; i++)
        {
            var source = images.AsSpan(i * ImageShape.Pixels, ImageShape.Pixels);
            int c = 0;
            foreach (int top in offsets)
                foreach (int left in offsets)
                {
                    var copy = result.AsSpan((i * copies + c++) * ImageShape.Pixels, ImageShape.Pixels);
                    source.CopyTo(copy);
                    for (int y = top; y < top + settings.Patch; y++) copy.Slice(y * ImageShape.Side + left, settings.Patch).Clear();
                }
        }
        return result;
    }

    /// <summary>
    /// The 28x28 map (row-major) for one image: at each pixel, the drop in <paramref name="label"/>'s probability,
    /// averaged over the copies whose patch covered that pixel. Positive: that part of the image spoke for the class.
    /// </summary>
    /// <param name="original">The image's own 10 probabilities.</param>
    /// <param name="occluded">The probabilities of its <see cref="OcclusionSettings.Copies"/> copies, in <see cref="Copies"/>' order.</param>
    /// <param name="label">The class explained.</param>
    /// <param name="settings">The settings the copies were made with.</param>
    public static float[] Map(ReadOnlySpan<float> original, ReadOnlySpan<float> occluded, int label, OcclusionSettings settings)
    {
        var offsets = settings.Offsets();
        if (occluded.Length != offsets.Count * offsets.Count * ClassNames.Count)
            throw new ArgumentException($"{occluded.Length} probabilities for {offsets.Count * offsets.Count} copies", nameof(occluded));
        if (label is < 0 or >= ClassNames.Count) throw new ArgumentOutOfRangeException(nameof(label));
        var sum = new double[ImageShape.Pixels];
        var cover = new int[ImageShape.Pixels];
        int c = 0;
        foreach (int top in offsets)
            foreach (int left in offsets)
            {
                double drop = original[label] - occluded[c++ * ClassNames.Count + label];
                for (int y = top; y < top + settings.Patch; y++)
                    for (int x = left; x < left + settings.Patch; x++)
                    {
                        sum[y * ImageShape.Side + x] += drop;
                        cover[y * ImageShape.Side + x]++;
                    }
            }
        var map = new float[ImageShape.Pixels];
        for (int p = 0; p < map.Length; p++) map[p] = (float)(sum[p] / cover[p]);
        return map;
    }

    /// <summary>
    /// Maps for several images in one <see cref="IClassifier.Probabilities"/> call (originals and all their copies
    /// together, so a model's batching does the work); <paramref name="labels"/> null explains each image's top class.
    /// Returns each image's probabilities (10) and map (784).
    /// </summary>
    public static IReadOnlyList<(float[] Probabilities, float[] Map, int Label)> Compute(IClassifier model, byte[] images, OcclusionSettings? settings = null, IReadOnlyList<int>? labels = null)
    {
        settings ??= new OcclusionSettings();
        var copies = Copies(images, settings);
        int n = images.Length / ImageShape.Pixels;
        if (labels is not null && labels.Count != n) throw new ArgumentException($"{labels.Count} labels for {n} images", nameof(labels));
        var probs = model.Probabilities([.. images, .. copies]);
        return [.. Enumerable.Range(0, n).Select(i => Split(probs, n, i, settings, labels?[i]))];
    }

    /// <summary>Image <paramref name="i"/>'s share of probabilities laid out as <see cref="Compute"/> asks for them:
    /// the <paramref name="n"/> originals first, then every image's copies.</summary>
    internal static (float[] Probabilities, float[] Map, int Label) Split(float[] probs, int n, int i, OcclusionSettings settings, int? label = null)
    {
        int k = ClassNames.Count, copies = settings.Copies;
        var own = probs.AsSpan(i * k, k).ToArray();
        int chosen = label ?? ArgMax(own);
        return (own, Map(own, probs.AsSpan((n + i * copies) * k, copies * k), chosen, settings), chosen);
    }

    internal static int ArgMax(ReadOnlySpan<float> p)
    {
        int best = 0;
        for (int c = 1; c < p.Length; c++) if (p[c] > p[best]) best = c;
        return best;
    }

    private static void CheckImages(byte[] images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Length == 0 || images.Length % ImageShape.Pixels != 0)
            throw new ArgumentException($"{images.Length} bytes is not a whole number of 28x28 images", nameof(images));
    }
}
