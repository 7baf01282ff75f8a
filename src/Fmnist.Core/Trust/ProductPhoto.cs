using Fmnist.Data;
using Fmnist.Imaging;
using SkiaSharp;

namespace Fmnist.Trust;

/// <summary>
/// A dataset image as a product photo of it would look: Fashion-MNIST was made from photos on white, turned grey
/// and inverted, so a pixel's intensity is how much darker than the backdrop the garment is there. Rendered back
/// that way, at a random size and margin, with a tint, an uneven backdrop and sensor noise, then prepared like any
/// photo. The recognition thresholds are fitted on these, so they hold for photos rather than for the dataset's
/// own already-prepared images. Each image's variation comes from a generator seeded by its index, so the same
/// images always render the same.
/// </summary>
internal static class ProductPhoto
{
    /// <summary>Image <paramref name="image"/> (784 bytes, light on black) rendered as a photo and prepared again.</summary>
    /// <param name="image">The dataset image.</param>
    /// <param name="seed">Chooses size, margins, tint, backdrop and noise.</param>
    /// <param name="name">Labels the photo.</param>
    public static Photo RoundTrip(ReadOnlySpan<byte> image, int seed, string name)
    {
        var rng = new Random(seed);
        int side = (int)(ImageShape.Side * (4 + 6 * rng.NextDouble()));
        int left = Margin(rng, side), top = Margin(rng, side), right = Margin(rng, side), bottom = Margin(rng, side);
        int width = side + left + right, height = side + top + bottom;
        float[] intensity = Upscale(image, side);

        double backdrop = 226 + 26 * rng.NextDouble(), slope = -14 + 20 * rng.NextDouble();
        double depth = 0.85 + 0.15 * rng.NextDouble(), noise = 0.8 + 2.2 * rng.NextDouble();
        Span<double> tint = stackalloc double[3];
        for (int c = 0; c < 3; c++) tint[c] = 0.75 + 0.5 * rng.NextDouble();
        double mean = (tint[0] + tint[1] + tint[2]) / 3;
        for (int c = 0; c < 3; c++) tint[c] /= mean;

        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var pixels = new byte[width * height * 4];
        for (int y = 0; y < height; y++)
        {
            double ground = backdrop + slope * y / height;
            for (int x = 0; x < width; x++)
            {
                int gx = x - left, gy = y - top;
                double v = gx >= 0 && gy >= 0 && gx < side && gy < side ? intensity[gy * side + gx] : 0;
                double luma = ground * (1 - depth * v);
                int o = (y * width + x) * 4;
                for (int c = 0; c < 3; c++)
                {
                    double colour = v > 0 ? luma * (1 + (tint[c] - 1) * Math.Min(1, v * 4)) : luma;
                    pixels[o + c] = (byte)Math.Clamp(Math.Round(colour + noise * Gaussian(rng)), 0, 255);
                }
                pixels[o + 3] = 255;
            }
        }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        return PhotoPreprocessor.Prepare(bitmap, name);
    }

    /// <summary>Every image of <paramref name="images"/> round-tripped, in order (image i seeded by i).</summary>
    public static IReadOnlyList<Photo> RoundTrip(LabeledImages images)
    {
        var photos = new Photo[images.Count];
        Parallel.For(0, images.Count, i => photos[i] = RoundTrip(images.Image(i), i, $"validation-{i}"));
        return photos;
    }

    private static int Margin(Random rng, int side) => (int)(side * (0.04 + 0.41 * rng.NextDouble()));

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>The 28x28 intensities (0-1) scaled to side x side with a cubic filter.</summary>
    private static float[] Upscale(ReadOnlySpan<byte> image, int side)
    {
        using var small = SKImage.FromPixelCopy(new SKImageInfo(ImageShape.Side, ImageShape.Side, SKColorType.Gray8, SKAlphaType.Opaque), image.ToArray())
            ?? throw new InvalidOperationException("cannot wrap a 28x28 image");
        using var surface = SKSurface.Create(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"cannot allocate a {side}x{side} surface");
        surface.Canvas.Clear(SKColors.Black);
        surface.Canvas.DrawImage(small, SKRect.Create(0, 0, side, side), new SKSamplingOptions(SKCubicResampler.Mitchell));
        var rgba = new byte[side * side * 4];
        unsafe
        {
            fixed (byte* p = rgba)
                if (!surface.ReadPixels(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Premul), (IntPtr)p, side * 4, 0, 0))
                    throw new InvalidOperationException("cannot read back the upscaled image");
        }
        var result = new float[side * side];
        for (int i = 0; i < result.Length; i++) result[i] = rgba[i * 4] / 255f;
        return result;
    }
}
