using System.Buffers.Binary;
using System.IO.Compression;
using SkiaSharp;

namespace Fmnist.Tests;

/// <summary>
/// Image files for the hostile-image fuzz test: valid ones in every odd form a camera, an editor or a web page
/// produces, and seeded mutations of them (bit flips, truncations, chunk and segment lengths, sizes, overwritten
/// and inserted bytes), the damage a disk, a transfer or a malicious uploader does.
/// </summary>
public static class HostileImages
{
    public const int Width = 64, Height = 48;

    /// <summary>A T shape (a shirt: sleeves on top, body below), so a picture on its side or upside down shows.</summary>
    public static bool Garment(int x, int y) => (y is >= 6 and < 15 && x is >= 8 and < 56) || (y is >= 15 and < 44 && x is >= 22 and < 42);

    /// <summary>Valid files, by name: hand-made PNGs of every colour type and bit depth, SkiaSharp's own PNG and
    /// JPEG, EXIF-rotated JPEGs, and the ImageMagick-made files SkiaSharp cannot encode (scripts/make-odd-images.sh).</summary>
    public static List<(string Name, byte[] Bytes)> ValidOddFiles()
    {
        var files = new List<(string, byte[])>
        {
            ("gray-8bit.png", Png(0, 8)), ("gray-16bit.png", Png(0, 16)), ("gray-1bit.png", Png(0, 1)),
            ("gray-2bit.png", Png(0, 2)), ("gray-4bit.png", Png(0, 4)), ("rgb-16bit.png", Png(2, 16)),
            ("palette-8bit.png", Png(3, 8)), ("palette-1bit.png", Png(3, 1)), ("palette-4bit-transparent.png", Png(3, 4, transparent: true)),
            ("gray-alpha-8bit.png", Png(4, 8)), ("gray-alpha-16bit.png", Png(4, 16)), ("rgba-16bit.png", Png(6, 16)),
            ("skia.png", Encode(Upright(), SKEncodedImageFormat.Png, 100)), ("skia-q90.jpg", Encode(Upright(), SKEncodedImageFormat.Jpeg, 90)),
            ("skia-q5.jpg", Encode(Upright(), SKEncodedImageFormat.Jpeg, 5)),
        };
        foreach (var orientation in new[] { 3, 6, 8 }) files.Add(($"exif-orientation-{orientation}.jpg", ExifRotated(orientation)));
        var fixtures = Path.Combine(TestData.RepoRoot, "tests", "Fmnist.Tests", "Images");
        foreach (var path in Directory.GetFiles(fixtures).Order()) files.Add((Path.GetFileName(path), File.ReadAllBytes(path)));
        return files;
    }

    /// <summary>
    /// A PNG of the garment, dark on light, written by hand: colour type 0 gray, 2 RGB, 3 palette, 4 gray+alpha,
    /// 6 RGBA; depth 1 to 16. <paramref name="transparent"/>: a palette PNG whose background entry is see-through.
    /// </summary>
    public static byte[] Png(byte colorType, byte depth, bool transparent = false)
    {
        int channels = colorType switch { 0 or 3 => 1, 2 => 3, 4 => 2, _ => 4 };
        int max = (1 << depth) - 1;
        using var raw = new MemoryStream();
        for (int y = 0; y < Height; y++)
        {
            raw.WriteByte(0); // filter: none
            var bits = new BitWriter(raw);
            for (int x = 0; x < Width; x++)
            {
                bool on = Garment(x, y);
                for (int c = 0; c < channels; c++)
                {
                    bool alpha = colorType is 4 or 6 && c == channels - 1;
                    int value = colorType == 3 ? (on ? 1 : 0) : alpha ? max : on ? max / 5 : max;
                    bits.Write(value, depth);
                }
            }
            bits.Flush();
        }
        using var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, Width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), Height);
        ihdr[8] = depth;
        ihdr[9] = colorType;
        PhotoPreprocessorTests.WriteChunk(png, "IHDR", ihdr);
        if (colorType == 3)
        {
            PhotoPreprocessorTests.WriteChunk(png, "PLTE", [0xF0, 0xF0, 0xE8, 0x30, 0x30, 0x70]); // light background, dark garment
            if (transparent) PhotoPreprocessorTests.WriteChunk(png, "tRNS", [0x00, 0xFF]);
        }
        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) raw.WriteTo(z);
        PhotoPreprocessorTests.WriteChunk(png, "IDAT", compressed.ToArray());
        PhotoPreprocessorTests.WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    /// <summary>The garment as a bitmap, dark blue on white, the right way up.</summary>
    public static SKBitmap Upright()
    {
        var bitmap = new SKBitmap(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        for (int y = 0; y < Height; y++)
            for (int x = 0; x < Width; x++)
                bitmap.SetPixel(x, y, Garment(x, y) ? new SKColor(40, 40, 110) : SKColors.White);
        return bitmap;
    }

    /// <summary>
    /// A JPEG whose pixels are stored turned, with the EXIF orientation that tells a viewer how to turn them back:
    /// 3 = stored upside down, 6 = stored turned a quarter anticlockwise (shown turned clockwise), 8 = the reverse.
    /// </summary>
    public static byte[] ExifRotated(int orientation, bool withTag = true)
    {
        using var upright = Upright();
        bool quarter = orientation is 6 or 8;
        using var stored = new SKBitmap(new SKImageInfo(quarter ? Height : Width, quarter ? Width : Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(stored))
        {
            // Skia's y axis points down, so a positive angle turns clockwise on screen.
            switch (orientation)
            {
                case 3: canvas.Translate(Width, Height); canvas.RotateDegrees(180); break;
                case 6: canvas.Translate(0, Width); canvas.RotateDegrees(-90); break;
                case 8: canvas.Translate(Height, 0); canvas.RotateDegrees(90); break;
            }
            canvas.DrawBitmap(upright, 0, 0);
        }
        var jpeg = Encode(stored, SKEncodedImageFormat.Jpeg, 90, dispose: false);
        return withTag ? WithExifOrientation(jpeg, orientation) : jpeg;
    }

    /// <summary>An APP1 segment right after SOI: "Exif", a big-endian TIFF header and one IFD entry, tag 0x0112.</summary>
    private static byte[] WithExifOrientation(byte[] jpeg, int orientation)
    {
        byte[] tiff = [(byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte)orientation, 0, 0, 0, 0, 0, 0];
        byte[] payload = [.. "Exif\0\0"u8, .. tiff];
        int length = payload.Length + 2;
        return [0xFF, 0xD8, 0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. payload, .. jpeg.AsSpan(2)];
    }

    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format, int quality, bool dispose = true)
    {
        try
        {
            using var data = bitmap.Encode(format, quality);
            return data.ToArray();
        }
        finally
        {
            if (dispose) bitmap.Dispose();
        }
    }

    /// <summary>Packs samples of 1 to 16 bits, most significant first, as PNG scanlines want them.</summary>
    private sealed class BitWriter(Stream stream)
    {
        private int _buffer, _bits;

        public void Write(int value, int depth)
        {
            if (depth == 16)
            {
                stream.WriteByte((byte)(value >> 8));
                stream.WriteByte((byte)value);
                return;
            }
            _buffer = (_buffer << depth) | value;
            _bits += depth;
            if (_bits < 8) return;
            stream.WriteByte((byte)_buffer);
            _buffer = _bits = 0;
        }

        public void Flush()
        {
            if (_bits > 0) stream.WriteByte((byte)(_buffer << (8 - _bits)));
            _buffer = _bits = 0;
        }
    }
}
