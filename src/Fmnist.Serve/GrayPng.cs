using SkiaSharp;

namespace Fmnist.Serve;

/// <summary>28x28 model inputs as PNG data URLs, so a page or client can show what the model saw.</summary>
public static class GrayPng
{
    public static byte[] Encode(byte[] pixels, int side = Fmnist.Data.ImageShape.Side)
    {
        var info = new SKImageInfo(side, side, SKColorType.Gray8, SKAlphaType.Opaque);
        using var image = SKImage.FromPixelCopy(info, pixels) ?? throw new InvalidOperationException("cannot wrap the image");
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    public static string DataUrl(byte[] pixels) => "data:image/png;base64," + Convert.ToBase64String(Encode(pixels));
}
