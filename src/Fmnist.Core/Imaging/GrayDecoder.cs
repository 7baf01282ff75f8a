using System.Runtime.InteropServices;
using SkiaSharp;

namespace Fmnist.Imaging;

/// <summary>
/// Decodes a photo to gray no larger than the preprocessing can use, a strip at a time, so a 40 MP upload costs a few
/// MB instead of a 160 MB RGBA bitmap. A large JPEG is decoded at reduced scale by libjpeg itself (1/8 to 7/8, from the DCT);
/// PNG has no such scale, so its rows are decoded in strips (Skia's incremental decoder with a row subset) and
/// area-averaged down. A photo under twice <see cref="TargetLongSide"/> keeps every pixel: its result is unchanged.
/// </summary>
internal static class GrayDecoder
{
    /// <summary>
    /// The decoded long side is kept at or above this: the crop is resized to 112 px, so a garment filling a ninth
    /// of the frame's long side still gets full detail.
    /// </summary>
    public const int TargetLongSide = 1024;

    /// <summary>Formats Skia only decodes whole (WebP, GIF, bottom-up BMP) are refused above this many pixels.</summary>
    public const long WholeDecodePixels = 2048 * 2048;

    // One strip of RGBA rows; a PNG strip is decoded by a fresh pass over the compressed data, so not too small either.
    private const long StripBytes = 16L << 20;

    // An interlaced (Adam7) PNG strip costs a pass over the whole image, its rows spread over seven sub-images:
    // so it gets at most this many strips, each larger (a 40 MP one: four strips of 40 MB, about four full decodes).
    private const int InterlacedStrips = 4;

    /// <param name="interlaced">An Adam7 PNG (<see cref="IsInterlacedPng"/>): decoded in fewer, larger strips.</param>
    public static GrayReducer Decode(SKCodec codec, string path, bool interlaced, CancellationToken cancel)
    {
        var size = DecodeSize(codec);
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        var reducer = new GrayReducer(size.Width, size.Height, Math.Max(1, Math.Max(size.Width, size.Height) / TargetLongSide));
        int rowBytes = info.RowBytes;
        int stripRows = (int)Math.Clamp(StripBytes / rowBytes, 1, size.Height);
        if (interlaced) stripRows = Math.Max(stripRows, (size.Height + InterlacedStrips - 1) / InterlacedStrips);
        var scanlines = codec.StartScanlineDecode(info);
        if (scanlines == SKCodecResult.Success && codec.ScanlineOrder == SKCodecScanlineOrder.TopDown)
            WithBuffer((long)stripRows * rowBytes, strip => Scanlines(codec, path, reducer, strip, stripRows, rowBytes, cancel));
        else if (codec.EncodedFormat == SKEncodedImageFormat.Png)
            WithBuffer((long)stripRows * rowBytes, strip => PngStrips(codec, path, info, reducer, strip, stripRows, cancel));
        else if (scanlines is not (SKCodecResult.Success or SKCodecResult.Unimplemented))
            throw Corrupt(path, scanlines);
        else if ((long)size.Width * size.Height <= WholeDecodePixels)
            WithBuffer((long)size.Height * rowBytes, all => Check(path, codec.GetPixels(info, all), reducer, all, size.Height, rowBytes));
        else
            throw new ImageInputException(path, $"image is {size.Width}×{size.Height} {codec.EncodedFormat}: only PNG and JPEG are decoded at reduced scale, other formats up to {WholeDecodePixels / 1e6:0.#} MP");
        if (!reducer.Complete) throw Corrupt(path, SKCodecResult.IncompleteInput);
        return reducer;
    }

    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Whether the bytes are a PNG whose IHDR (always the first chunk) says Adam7 interlacing.</summary>
    public static bool IsInterlacedPng(ReadOnlySpan<byte> bytes) =>
        bytes.Length > 28 && bytes[..8].SequenceEqual(PngSignature) && bytes[12..16].SequenceEqual("IHDR"u8) && bytes[28] == 1;

    /// <summary>A large JPEG: the smallest DCT scale whose long side still reaches the target; anything else: full size.</summary>
    private static SKSizeI DecodeSize(SKCodec codec)
    {
        var full = codec.Info.Size;
        if (codec.EncodedFormat != SKEncodedImageFormat.Jpeg || Math.Max(full.Width, full.Height) < 2 * TargetLongSide) return full;
        for (int eighths = 1; eighths < 8; eighths++)
        {
            var scaled = codec.GetScaledDimensions(eighths / 8f);
            if (Math.Max(scaled.Width, scaled.Height) >= TargetLongSide) return scaled;
        }
        return full;
    }

    private static void Scanlines(SKCodec codec, string path, GrayReducer reducer, IntPtr strip, int stripRows, int rowBytes, CancellationToken cancel)
    {
        while (!reducer.Complete)
        {
            cancel.ThrowIfCancellationRequested();
            int want = Math.Min(stripRows, reducer.RowsLeft);
            // Skia fills the rows it could not decode; those would become a bogus object.
            if (codec.GetScanlines(strip, want, rowBytes) < want) throw Corrupt(path, SKCodecResult.IncompleteInput);
            Add(reducer, strip, want, rowBytes);
        }
    }

    private static void PngStrips(SKCodec codec, string path, SKImageInfo info, GrayReducer reducer, IntPtr strip, int stripRows, CancellationToken cancel)
    {
        for (int top = 0; top < info.Height; top += stripRows)
        {
            cancel.ThrowIfCancellationRequested();
            int rows = Math.Min(stripRows, info.Height - top);
            // The subset's rows land at the start of the buffer; Skia reads (and skips) the rows above them again.
            var start = codec.StartIncrementalDecode(info, strip, info.RowBytes, new SKCodecOptions(new SKRectI(0, top, info.Width, top + rows)));
            if (start != SKCodecResult.Success) throw Corrupt(path, start);
            Check(path, codec.IncrementalDecode(out _), reducer, strip, rows, info.RowBytes);
        }
    }

    private static void Check(string path, SKCodecResult result, GrayReducer reducer, IntPtr rgba, int rows, int rowBytes)
    {
        // IncompleteInput leaves the missing rows undefined, which would turn into a bogus object.
        if (result != SKCodecResult.Success) throw Corrupt(path, result);
        Add(reducer, rgba, rows, rowBytes);
    }

    private static unsafe void Add(GrayReducer reducer, IntPtr rgba, int rows, int rowBytes)
    {
        // Strips stay well under 2 GB (StripBytes), so a span covers one.
        reducer.AddRgba(new ReadOnlySpan<byte>((void*)rgba, rows * rowBytes), rows, rowBytes);
    }

    private static ImageInputException Corrupt(string path, SKCodecResult result) =>
        new(path, $"image data is truncated or corrupt ({result})");

    /// <summary>Native memory, freed at once rather than left to the garbage collector like a large managed array.</summary>
    private static unsafe void WithBuffer(long bytes, Action<IntPtr> use)
    {
        void* buffer = NativeMemory.Alloc((nuint)bytes);
        try
        {
            use((IntPtr)buffer);
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }
}
