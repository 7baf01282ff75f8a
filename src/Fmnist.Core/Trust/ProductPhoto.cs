using Fmnist.Data;
using Fmnist.Imaging;
using SkiaSharp;

namespace Fmnist.Trust;

/// <summary>
/// A dataset image as a person's photo of it would be: dark garment on a white backdrop, several times larger,
/// with a margin, then prepared like any photo. The recognition thresholds are fitted on these, so they hold for
/// photos rather than for the dataset's own already-prepared images.
/// </summary>
public static class ProductPhoto
{
    private const int Scale = 4;
    private const int Margin = 16;

    /// <summary>Image <paramref name="image"/> (784 bytes, light on black) rendered and prepared again.</summary>
    public static Photo RoundTrip(ReadOnlySpan<byte> image, string name)
    {
        var inverted = new byte[ImageShape.Pixels];
        for (int i = 0; i < inverted.Length; i++) inverted[i] = (byte)(255 - image[i]);
        using var small = SKImage.FromPixelCopy(new SKImageInfo(ImageShape.Side, ImageShape.Side, SKColorType.Gray8, SKAlphaType.Opaque), inverted)
            ?? throw new InvalidOperationException("cannot wrap a 28x28 image");
        int side = ImageShape.Side * Scale + 2 * Margin;
        using var bitmap = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            canvas.DrawImage(small, SKRect.Create(Margin, Margin, ImageShape.Side * Scale, ImageShape.Side * Scale), new SKSamplingOptions(SKCubicResampler.Mitchell));
        }
        return PhotoPreprocessor.Prepare(bitmap, name);
    }

    /// <summary>Every image of <paramref name="images"/> round-tripped, in order.</summary>
    public static IReadOnlyList<Photo> RoundTrip(LabeledImages images)
    {
        var photos = new Photo[images.Count];
        Parallel.For(0, images.Count, i => photos[i] = RoundTrip(images.Image(i), $"validation-{i}"));
        return photos;
    }
}
