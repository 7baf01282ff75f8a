using static TorchSharp.torch;

namespace Fmnist.Features;

/// <summary>
/// The cheap augmentations of the ResNet recipe, on whole batches of (B,1,H,W) pixel values in [0,1] before
/// standardization (so zero is the dataset's black background). Every random draw comes from the caller's
/// Random, in a fixed order per image, so a seed gives the same batch every time.
/// </summary>
public static class CropErase
{
    /// <summary>Pads by <paramref name="padding"/> zero pixels and cuts a random HxW window from each image
    /// (a shift of -padding..+padding per axis), mirroring it left-right with probability <paramref name="flipProbability"/>.</summary>
    public static Tensor CropFlip(Tensor images, int padding, double flipProbability, Random rng)
    {
        long b = images.shape[0], h = images.shape[2], w = images.shape[3];
        using var scope = NewDisposeScope();
        // (B,C,H,W) -> (B,C,H+2p,W+2p)
        var padded = padding > 0 ? nn.functional.pad(images, [padding, padding, padding, padding]) : images;
        var crops = new Tensor[b];
        for (long i = 0; i < b; i++)
        {
            int top = rng.Next(2 * padding + 1), left = rng.Next(2 * padding + 1);
            bool flip = rng.NextDouble() < flipProbability;
            var crop = padded[i].narrow(1, top, h).narrow(2, left, w);
            crops[i] = flip ? crop.flip(2) : crop;
        }
        return stack(crops).MoveToOuterDisposeScope();
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
