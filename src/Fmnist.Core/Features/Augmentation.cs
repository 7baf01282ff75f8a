using static TorchSharp.torch;

namespace Fmnist.Features;

/// <summary>Offline: one affine copy of each image appended once; online: fresh affine transforms every epoch;
/// crop: fresh random crop of the zero-padded image plus horizontal flip every epoch (cheap tensor slicing,
/// the CIFAR/ResNet recipe); none.</summary>
public enum AugmentMode
{
    /// <summary>One affine copy of each image, made once and appended (the seed's doubled set).</summary>
    Offline,
    /// <summary>Fresh affine transforms every epoch.</summary>
    Online,
    /// <summary>No augmentation.</summary>
    None,
    /// <summary>A fresh random crop of the zero-padded image, and a flip, every epoch.</summary>
    Crop,
}

/// <summary>
/// Ranges of the random affine augmentation, Keras ImageDataGenerator style: shear angle (radians),
/// zoom factor in [1-Zoom, 1+Zoom] per axis, shift as a fraction of the image side, flip probability.
/// </summary>
public sealed record AugmentConfig
{
    /// <summary>Largest shear angle, in radians.</summary>
    public double Shear { get; init; } = 0.2;
    /// <summary>Zoom factor range: [1 - Zoom, 1 + Zoom] per axis.</summary>
    public double Zoom { get; init; } = 0.1;
    /// <summary>Largest shift, as a share of the image side.</summary>
    public double Shift { get; init; } = 0.1;
    /// <summary>Probability of a horizontal flip.</summary>
    public double FlipProbability { get; init; } = 0.5;

    /// <summary>Crop mode: instead of a fresh coin per image and epoch, each image is mirrored in every other
    /// epoch (which ones fixed per image by the seed): every image is seen both ways in any two consecutive
    /// epochs (airbench's alternating flip). <see cref="FlipProbability"/> is then unused.</summary>
    public bool AlternateFlip { get; init; }

    /// <summary>Share of images transformed at all; the rest pass unchanged (online mode's answer to the
    /// seed's half-clean training set).</summary>
    public double Probability { get; init; } = 1.0;

    /// <summary>Crop mode: zero pixels added on each side before a random 28x28 crop (a shift of up to this many pixels).</summary>
    public int CropPadding { get; init; } = 4;

    /// <summary>Random erasing (Zhong et al. 2017), in online and crop modes: share of images with one rectangle
    /// zeroed, and the range of its area as a share of the image.</summary>
    public double EraseProbability { get; init; }
    /// <summary>Random erasing: smallest area of the rectangle, as a share of the image.</summary>
    public double EraseMinArea { get; init; } = 0.02;
    /// <summary>Random erasing: largest area of the rectangle, as a share of the image.</summary>
    public double EraseMaxArea { get; init; } = 0.4;
}

/// <summary>
/// Per-image random affine transforms on whole batches: one 2x3 matrix per image, then affine_grid and
/// a bilinear grid_sample with zero padding (black, the dataset's background). Runs on pixel values
/// in [0,1] before standardization, so the padding is true background. Seeded by the caller's Random.
/// </summary>
internal static class Augmenter
{
    /// <param name="images">(B,1,28,28) float in [0,1].</param>
    /// <param name="c">The ranges.</param>
    /// <param name="rng">The caller's seeded generator.</param>
    public static Tensor Apply(Tensor images, AugmentConfig c, Random rng)
    {
        long b = images.shape[0];
        var theta = new float[b * 6];
        for (long i = 0; i < b; i++)
        {
            var row = theta.AsSpan((int)(i * 6), 6);
            if (c.Probability < 1 && rng.NextDouble() >= c.Probability)
            {
                row[0] = 1; row[4] = 1; // identity
                continue;
            }
            double flip = rng.NextDouble() < c.FlipProbability ? -1 : 1;
            double shear = Uniform(rng, c.Shear);
            double zx = 1 + Uniform(rng, c.Zoom), zy = 1 + Uniform(rng, c.Zoom);
            // Normalized coordinates span 2 units per side, so a shift of f of the side is 2f.
            double tx = 2 * Uniform(rng, c.Shift), ty = 2 * Uniform(rng, c.Shift);
            // The matrix maps output coordinates to where they are sampled in the input:
            // [x_in, y_in] = Flip * Zoom * Shear * [x_out, y_out] + t.
            double tan = Math.Tan(shear);
            row[0] = (float)(flip * zx); row[1] = (float)(flip * zx * tan); row[2] = (float)tx;
            row[3] = 0; row[4] = (float)zy; row[5] = (float)ty;
        }
        using var t = tensor(theta, [b, 2, 3]);
        using var grid = nn.functional.affine_grid(t, [b, 1, images.shape[2], images.shape[3]], align_corners: false);
        return nn.functional.grid_sample(images, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Zeros, align_corners: false);
    }

    private static double Uniform(Random rng, double range) => range == 0 ? 0 : (rng.NextDouble() * 2 - 1) * range;
}
