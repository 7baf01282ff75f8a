using System.Buffers.Binary;
using System.IO.Compression;
using SkiaSharp;

namespace Fmnist.Tests;

/// <summary>
/// Large images for the bounded-decoding tests: a 40 MP garment PNG written row by row (no 40 MP bitmap in the test
/// either, ~50 KB like the uploads of the measured attack), a 40 MP JPEG, and photo-like pictures with texture.
/// </summary>
public static class BigImages
{
    /// <summary>The width x height of the 40 MP attack images (just under PhotoPreprocessor.MaxPixels).</summary>
    public const int Width40 = 8000, Height40 = 5000;

    private static readonly Lazy<byte[]> Png40Lazy = new(() => GarmentPng(Width40, Height40));

    /// <summary>One 40 MP garment PNG, made once per test run (half a second of deflate).</summary>
    public static byte[] Png40 => Png40Lazy.Value;

    // Adam7: each pass's first column and row, and its steps across and down.
    private static readonly (int X, int Y, int Dx, int Dy)[] Passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];

    /// <summary>An 8-bit gray PNG of HostileImages' shirt, dark on white, scaled to width x height; Adam7-interlaced on request.</summary>
    public static byte[] GarmentPng(int width, int height, bool interlaced = false)
    {
        using var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // gray, 8 bits
        ihdr[12] = interlaced ? (byte)1 : (byte)0;
        PhotoPreprocessorTests.WriteChunk(png, "IHDR", ihdr);
        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            foreach (var (x0, y0, dx, dy) in interlaced ? Passes : [(0, 0, 1, 1)])
            {
                int columns = (width - x0 + dx - 1) / dx;
                if (columns <= 0) continue; // an empty pass has no rows at all
                var row = new byte[columns + 1]; // filter byte 0, then the pixels
                for (int y = y0; y < height; y += dy)
                {
                    for (int i = 0; i < columns; i++) row[i + 1] = Garment(x0 + i * dx, y, width, height) ? (byte)50 : (byte)245;
                    z.Write(row);
                }
            }
        }
        PhotoPreprocessorTests.WriteChunk(png, "IDAT", compressed.ToArray());
        PhotoPreprocessorTests.WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    /// <summary>The same garment as a gray JPEG (the encoder needs the bitmap: width x height bytes, briefly).</summary>
    public static byte[] GarmentJpeg(int width, int height)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        var pixels = bitmap.GetPixelSpan();
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                pixels[y * width + x] = Garment(x, y, width, height) ? (byte)50 : (byte)245;
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    /// <summary>
    /// Something like a product photo: a striped shirt (3 px stripes, finer than the reduced scale) with a soft shadow
    /// on a light gradient, the shirt a little off centre. Detail below the reduced scale is what decoding at reduced
    /// scale could alias; the result must still match a full decode.
    /// </summary>
    public static byte[] Photo(int width, int height, SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            using var background = new SKPaint
            {
                Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(0, height),
                    [new SKColor(250, 248, 240), new SKColor(225, 222, 215)], SKShaderTileMode.Clamp),
            };
            canvas.DrawRect(0, 0, width, height, background);
            float u = width / 64f, v = height / 48f;
            using var shirt = new SKPath();
            shirt.MoveTo(22 * u, 6 * v);
            shirt.LineTo(42 * u, 6 * v);
            shirt.LineTo(54 * u, 16 * v);
            shirt.LineTo(47 * u, 21 * v);
            shirt.LineTo(45 * u, 42 * v);
            shirt.LineTo(19 * u, 42 * v);
            shirt.LineTo(17 * u, 21 * v);
            shirt.LineTo(10 * u, 16 * v);
            shirt.Close();
            using var shadow = new SKPaint { Color = new SKColor(0, 0, 0, 60), IsAntialias = true, MaskFilter = SKMaskFilter.CreateBlur(SKBlurStyle.Normal, 2 * u) };
            canvas.Save();
            canvas.Translate(u, u);
            canvas.DrawPath(shirt, shadow);
            canvas.Restore();
            using var stripes = new SKPaint
            {
                IsAntialias = true,
                Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(0, 6), [new SKColor(40, 50, 110), new SKColor(40, 50, 110),
                    new SKColor(190, 60, 60), new SKColor(190, 60, 60)], [0, 0.5f, 0.5f, 1], SKShaderTileMode.Repeat),
            };
            canvas.DrawPath(shirt, stripes);
        }
        using var data = bitmap.Encode(format, 92);
        return data.ToArray();
    }

    private static bool Garment(int x, int y, int width, int height) =>
        HostileImages.Garment((int)((long)x * HostileImages.Width / width), (int)((long)y * HostileImages.Height / height));
}
