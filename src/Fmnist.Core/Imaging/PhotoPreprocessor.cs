using Fmnist.Data;
using SkiaSharp;

namespace Fmnist.Imaging;

/// <summary>
/// Turns an ordinary photo into something shaped like a Fashion-MNIST sample: 28x28 grayscale, the garment
/// light on a black background, cropped tight and centred on a square, intensities stretched to the full range.
/// That mirrors how the dataset itself was made (trim, resize the longest edge to 28, sharpen, stretch), so a
/// model trained on it sees inputs from roughly the same distribution.
/// </summary>
public static class PhotoPreprocessor
{
    /// <summary>The largest photo accepted (40 MP): decoding more would take gigabytes.</summary>
    public const long MaxPixels = 40_000_000;

    // Downscaling happens in two steps: area-like averaging to 4x the target, then a cubic filter to 28.
    // A single cubic step from a multi-megapixel photo would sample only a few source pixels per output pixel.
    private const int Intermediate = ImageShape.Side * 4;
    private const float SharpenAmount = 0.3f;

    /// <summary>The photo at <paramref name="path"/> (PNG or JPEG) as 784 bytes, like a Fashion-MNIST image.</summary>
    /// <exception cref="FmnistException">Not a readable image, or over <see cref="MaxPixels"/>: the message names the file.</exception>
    public static byte[] Load(string path) => Open(path).Pixels;

    /// <summary>As <see cref="Load"/>, with the measurements that tell whether the photo shows one object on a plain background.</summary>
    /// <exception cref="FmnistException">Not a readable image, or over <see cref="MaxPixels"/>: the message names the file.</exception>
    internal static Photo Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new ImageInputException(path, "file not found");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageInputException(path, $"cannot read the file ({e.Message.ReplaceLineEndings(" ").Trim()})");
        }
        return Decode(bytes, path);
    }

    /// <summary>
    /// The same preprocessing as <see cref="Load"/> for an image already in memory (an upload), so `predict` and
    /// `serve` give a photo the same treatment. <paramref name="name"/> only labels error messages.
    /// </summary>
    public static byte[] FromBytes(byte[] bytes, string name) => Decode(bytes, name).Pixels;

    /// <summary>
    /// <see cref="FromBytes(byte[], string)"/> that stops between strips of rows once <paramref name="cancel"/> fires
    /// (a server's deadline), throwing <see cref="OperationCanceledException"/>. A large photo is decoded at reduced
    /// scale, a strip at a time: memory stays a few MB whatever its size (see <c>GrayDecoder</c>).
    /// </summary>
    public static byte[] FromBytes(byte[] bytes, string name, CancellationToken cancel) => Decode(bytes, name, cancel).Pixels;

    /// <summary>As <see cref="FromBytes(byte[], string, CancellationToken)"/>, with the photo's measurements (<see cref="PhotoSignals"/>).</summary>
    internal static Photo Decode(byte[] bytes, string name, CancellationToken cancel = default)
    {
        using var data = Open(bytes, name, out var codec);
        using (codec)
        {
            var reduced = GrayDecoder.Decode(codec, name, GrayDecoder.IsInterlacedPng(bytes), cancel);
            // Phone cameras store pixels sideways and record the rotation in EXIF; viewers honour it, so must we.
            var (gray, width, height) = Orient(reduced.Gray, reduced.Width, reduced.Height, codec.EncodedOrigin);
            return Process(name, gray, width, height);
        }
    }

    /// <summary>
    /// An encoded image's size from its header alone, without decoding a pixel: what a server adds up against a
    /// per-request pixel budget before it spends memory on the pixels.
    /// </summary>
    /// <exception cref="FmnistException">Not a readable image, or over <see cref="MaxPixels"/>.</exception>
    public static (int Width, int Height) ReadSize(byte[] bytes, string name)
    {
        using var data = Open(bytes, name, out var codec);
        using (codec) return (codec.Info.Width, codec.Info.Height);
    }

    /// <summary>The codec for an image's bytes, its header checked: a readable format and at most <see cref="MaxPixels"/>.</summary>
    private static SKData Open(byte[] bytes, string path, out SKCodec codec)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length == 0) throw new ImageInputException(path, "file is empty");
        var data = SKData.CreateCopy(bytes);
        var created = SKCodec.Create(data);
        if (created is null)
        {
            data.Dispose();
            throw new ImageInputException(path, "not a PNG or JPEG image");
        }
        // The header alone gives the size, so an oversized image is refused before its pixels take memory.
        SKImageInfo header = created.Info;
        long pixels = (long)header.Width * header.Height;
        if (pixels > MaxPixels)
        {
            created.Dispose();
            data.Dispose();
            throw new ImageInputException(path,
                $"image is {header.Width}×{header.Height} = {pixels / 1e6:0.#} MP, above the {MaxPixels / 1_000_000} MP limit");
        }
        codec = created;
        return data;
    }

    /// <summary>A decoded image as 784 bytes, like a Fashion-MNIST image.</summary>
    public static byte[] FromBitmap(SKBitmap bmp) => Prepare(bmp, "bitmap").Pixels;

    /// <summary>As <see cref="FromBitmap"/>, with the photo's measurements; <paramref name="name"/> labels it.</summary>
    internal static Photo Prepare(SKBitmap bmp, string name)
    {
        ArgumentNullException.ThrowIfNull(bmp);
        if (bmp.Width < 1 || bmp.Height < 1) throw new ArgumentException("the bitmap has no pixels", nameof(bmp));
        return Process(name, Luma(bmp), bmp.Width, bmp.Height);
    }

    /// <summary>Rec. 601 luma, with any transparency composited over white the way an image viewer shows it.</summary>
    private static byte[] Luma(SKBitmap bmp)
    {
        int w = bmp.Width, h = bmp.Height;
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul);
        var rgba = new byte[(long)w * h * 4];
        using (SKPixmap source = bmp.PeekPixels() ?? throw new ArgumentException("the bitmap's pixels are not readable", nameof(bmp)))
        {
            unsafe
            {
                fixed (byte* p = rgba)
                {
                    if (!source.ReadPixels(info, (IntPtr)p, w * 4))
                        throw new ArgumentException($"cannot convert a {bmp.ColorType} bitmap to RGBA", nameof(bmp));
                }
            }
        }

        var gray = new byte[w * h];
        for (int i = 0, j = 0; i < gray.Length; i++, j += 4) gray[i] = Luma(rgba[j], rgba[j + 1], rgba[j + 2], rgba[j + 3]);
        return gray;
    }

    /// <summary>One premultiplied RGBA pixel's luma over white: c + (1 - a) * 255.</summary>
    internal static byte Luma(byte r, byte g, byte b, byte a)
    {
        float y = 0.299f * r + 0.587f * g + 0.114f * b + (255 - a);
        return (byte)Math.Clamp(MathF.Round(y), 0, 255);
    }

    private static (byte[] Gray, int Width, int Height) Orient(byte[] g, int w, int h, SKEncodedOrigin origin)
    {
        if (origin == SKEncodedOrigin.TopLeft) return (g, w, h);
        bool swaps = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop
            or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        int ow = swaps ? h : w, oh = swaps ? w : h;
        var o = new byte[g.Length];
        for (int dy = 0; dy < oh; dy++)
        {
            for (int dx = 0; dx < ow; dx++)
            {
                // Where the displayed pixel (dx, dy) lives in the stored image.
                (int sx, int sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (w - 1 - dx, dy),
                    SKEncodedOrigin.BottomRight => (w - 1 - dx, h - 1 - dy),
                    SKEncodedOrigin.BottomLeft => (dx, h - 1 - dy),
                    SKEncodedOrigin.LeftTop => (dy, dx),
                    SKEncodedOrigin.RightTop => (dy, h - 1 - dx),
                    SKEncodedOrigin.RightBottom => (w - 1 - dy, h - 1 - dx),
                    SKEncodedOrigin.LeftBottom => (w - 1 - dy, dx),
                    _ => (dx, dy),
                };
                o[dy * ow + dx] = g[sy * w + sx];
            }
        }
        return (o, ow, oh);
    }

    private static Photo Process(string name, byte[] gray, int w, int h)
    {
        // The border stands for the background: a band 2% deep, so one stray edge pixel cannot decide it.
        int band = Math.Max(1, Math.Min(w, h) / 50);
        var histogram = new long[256];
        long sum = 0, count = 0;
        for (int y = 0; y < h; y++)
        {
            bool edgeRow = y < band || y >= h - band;
            for (int x = 0; x < w; x++)
            {
                if (!edgeRow && x >= band && x < w - band) continue;
                byte v = gray[y * w + x];
                histogram[v]++;
                sum += v;
                count++;
            }
        }
        bool invert = sum > 127 * count;

        // The median, not the mean, is subtracted: a garment touching the frame would drag the mean up.
        long seen = 0;
        int median = 0;
        while (median < 255 && (seen += histogram[median]) * 2 < count) median++;
        int background = invert ? 255 - median : median;

        int max = 0;
        for (int i = 0; i < gray.Length; i++)
        {
            int v = invert ? 255 - gray[i] : gray[i];
            v = Math.Max(0, v - background);
            gray[i] = (byte)v;
            if (v > max) max = v;
        }

        double clutter = PhotoSignals.Clutter(histogram, median, count);
        double contrast = PhotoSignals.MeasureContrast(gray, w, h);
        var crop = BoundingBox(gray, w, h, Math.Max(1, max / 10));
        byte[] small = SharpenAndStretch(ResizeToSquare(gray, w, h, crop));
        return new Photo(name, small, new PhotoSignals(contrast, clutter, PhotoSignals.MeasureShapeShare(small)));
    }

    /// <summary>Rows and columns with enough bright pixels; a lone speck of sensor noise does not count.</summary>
    private static SKRectI BoundingBox(byte[] gray, int w, int h, int threshold)
    {
        var rowHits = new int[h];
        var colHits = new int[w];
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                if (gray[y * w + x] < threshold) continue;
                rowHits[y]++;
                colHits[x]++;
            }
        }
        int minRow = Math.Max(1, w / 500), minCol = Math.Max(1, h / 500);
        int top = Array.FindIndex(rowHits, c => c >= minRow), bottom = Array.FindLastIndex(rowHits, c => c >= minRow);
        int left = Array.FindIndex(colHits, c => c >= minCol), right = Array.FindLastIndex(colHits, c => c >= minCol);
        return top < 0 || left < 0 ? new SKRectI(0, 0, w, h) : new SKRectI(left, top, right + 1, bottom + 1);
    }

    /// <summary>Centres the crop on a black square (longest edge fills it) and scales that square to 28x28.</summary>
    private static byte[] ResizeToSquare(byte[] gray, int w, int h, SKRectI crop)
    {
        using var source = SKImage.FromPixelCopy(new SKImageInfo(w, h, SKColorType.Gray8, SKAlphaType.Opaque), gray)
            ?? throw new InvalidOperationException($"cannot wrap a {w}x{h} grayscale image");
        int square = Math.Max(crop.Width, crop.Height);
        int stage = Math.Clamp(square, ImageShape.Side, Intermediate);

        using var first = Surface(stage);
        float scale = (float)stage / square;
        float dw = crop.Width * scale, dh = crop.Height * scale;
        var dest = SKRect.Create((stage - dw) / 2, (stage - dh) / 2, dw, dh);
        // Linear with mipmaps averages over the whole footprint of each output pixel, which avoids aliasing.
        first.Canvas.DrawImage(source, SKRect.Create(crop.Left, crop.Top, crop.Width, crop.Height), dest,
            new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));

        using var middle = first.Snapshot();
        using var second = Surface(ImageShape.Side);
        second.Canvas.DrawImage(middle, SKRect.Create(0, 0, ImageShape.Side, ImageShape.Side), new SKSamplingOptions(SKCubicResampler.Mitchell));

        var rgba = new byte[ImageShape.Side * ImageShape.Side * 4];
        unsafe
        {
            fixed (byte* p = rgba)
            {
                var info = new SKImageInfo(ImageShape.Side, ImageShape.Side, SKColorType.Rgba8888, SKAlphaType.Premul);
                if (!second.ReadPixels(info, (IntPtr)p, ImageShape.Side * 4, 0, 0))
                    throw new InvalidOperationException("cannot read back the resized image");
            }
        }
        var result = new byte[ImageShape.Side * ImageShape.Side];
        for (int i = 0; i < result.Length; i++) result[i] = rgba[i * 4];
        return result;
    }

    private static SKSurface Surface(int side)
    {
        var surface = SKSurface.Create(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"cannot allocate a {side}x{side} surface");
        surface.Canvas.Clear(SKColors.Black);
        return surface;
    }

    /// <summary>A mild unsharp mask (resizing softens edges), then the brightest pixel becomes 255.</summary>
    private static byte[] SharpenAndStretch(byte[] image)
    {
        var sharp = new float[image.Length];
        float max = 0;
        for (int y = 0; y < ImageShape.Side; y++)
        {
            for (int x = 0; x < ImageShape.Side; x++)
            {
                float blur = 0;
                for (int dy = -1; dy <= 1; dy++)
                {
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int yy = Math.Clamp(y + dy, 0, ImageShape.Side - 1), xx = Math.Clamp(x + dx, 0, ImageShape.Side - 1);
                        blur += image[yy * ImageShape.Side + xx];
                    }
                }
                float v = image[y * ImageShape.Side + x];
                float s = Math.Max(0, v + SharpenAmount * (v - blur / 9));
                sharp[y * ImageShape.Side + x] = s;
                max = Math.Max(max, s);
            }
        }

        var result = new byte[image.Length];
        if (max <= 0) return result;
        for (int i = 0; i < result.Length; i++)
            result[i] = (byte)Math.Clamp(MathF.Round(sharp[i] * 255 / max), 0, 255);
        return result;
    }
}
