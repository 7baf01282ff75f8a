using static TorchSharp.torch;

namespace Fmnist.Features;

/// <summary>
/// The cheap augmentations of the ResNet recipe, on whole batches of (B,1,H,W) pixel values in [0,1] before
/// standardization (so zero is the dataset's black background). Every random draw comes from the caller's
/// Random, in a fixed order per image, so a seed gives the same batch every time.
/// </summary>
internal static class CropErase
{
    /// <summary>Pads by <paramref name="padding"/> zero pixels and cuts a random HxW window from each image
    /// (a shift of -padding..+padding per axis), mirroring it left-right with probability <paramref name="flipProbability"/>.</summary>
    public static Tensor CropFlip(Tensor images, int padding, double flipProbability, Random rng) =>
        CropFlip(images, padding, _ => rng.NextDouble() < flipProbability, rng);

    /// <summary>As above, with image <c>i</c> of the batch mirrored when <paramref name="flip"/>(i) says so
    /// (called after that image's two crop draws, so a coin drawn from <paramref name="rng"/> keeps the order).</summary>
    public static Tensor CropFlip(Tensor images, int padding, Func<long, bool> flip, Random rng)
    {
        long b = images.shape[0], h = images.shape[2], w = images.shape[3];
        using var scope = NewDisposeScope();
        // (B,C,H,W) -> (B,C,H+2p,W+2p)
        var padded = padding > 0 ? nn.functional.pad(images, [padding, padding, padding, padding]) : images;
        var crops = new Tensor[b];
        for (long i = 0; i < b; i++)
        {
            int top = rng.Next(2 * padding + 1), left = rng.Next(2 * padding + 1);
            var crop = padded[i].narrow(1, top, h).narrow(2, left, w);
            crops[i] = flip(i) ? crop.flip(2) : crop;
        }
        return stack(crops).MoveToOuterDisposeScope();
    }

    /// <summary>Alternating flip: whether training image <paramref name="index"/> is mirrored in
    /// <paramref name="epoch"/> (1-based). A fixed per-image bit from the seed (a SplitMix64 hash, the same in
    /// every process) picks whether the odd or the even epochs are the mirrored ones.</summary>
    public static bool AlternateFlip(int seed, long index, int epoch)
    {
        unchecked
        {
            ulong z = (ulong)index * 0x9E3779B97F4A7C15UL + (ulong)(uint)seed * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return ((int)(z >> 63) + epoch) % 2 == 1;
        }
    }

    /// <summary>
    /// With probability <paramref name="probability"/> per image, zeroes one rectangle whose area is a uniform
    /// share in [minArea, maxArea] of the image and whose aspect ratio is log-uniform in [0.3, 1/0.3]; up to 10
    /// draws until it fits, as in the paper. In place; returns <paramref name="images"/>.
    /// </summary>
    public static Tensor Erase(Tensor images, double probability, double minArea, double maxArea, Random rng)
    {
        if (probability <= 0) return images;
        long b = images.shape[0];
        int h = (int)images.shape[2], w = (int)images.shape[3];
        using var _ = no_grad();
        for (long i = 0; i < b; i++)
        {
            if (rng.NextDouble() >= probability) continue;
            if (EraseBox(h, w, minArea, maxArea, rng) is not var (top, left, eh, ew)) continue;
            using var scope = NewDisposeScope(); // the views below are small native handles, one set per image
            images[i].narrow(1, top, eh).narrow(2, left, ew).zero_();
        }
        return images;
    }

    /// <summary>The rectangle (top, left, height, width) for one image, or null when 10 draws did not fit.</summary>
    public static (int Top, int Left, int Height, int Width)? EraseBox(int h, int w, double minArea, double maxArea, Random rng)
    {
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double area = h * w * (minArea + rng.NextDouble() * (maxArea - minArea));
            double aspect = Math.Exp(Math.Log(0.3) + rng.NextDouble() * (Math.Log(1 / 0.3) - Math.Log(0.3)));
            int eh = (int)Math.Round(Math.Sqrt(area * aspect)), ew = (int)Math.Round(Math.Sqrt(area / aspect));
            if (eh < 1 || ew < 1 || eh >= h || ew >= w) continue;
            return (rng.Next(h - eh + 1), rng.Next(w - ew + 1), eh, ew);
        }
        return null;
    }
}
