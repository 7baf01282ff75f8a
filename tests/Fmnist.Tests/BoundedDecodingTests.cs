using Fmnist.Imaging;
using SkiaSharp;
using Xunit.Abstractions;

namespace Fmnist.Tests;

/// <summary>
/// Photos are decoded a strip at a time and, when large, at reduced scale: the same 28x28 image as a full-size decode
/// (exactly below 2048 px, closely above), and a 40 MP upload never becomes a full-size bitmap.
/// </summary>
public sealed class BoundedDecodingTests(ITestOutputHelper output)
{
    /// <summary>What decoding did before: the whole image into one RGBA bitmap, then the same preprocessing.</summary>
    private static byte[] FullBitmap(byte[] bytes)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data);
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var bitmap = new SKBitmap(info);
        Assert.Equal(SKCodecResult.Success, codec.GetPixels(info, bitmap.GetPixels()));
        Assert.Equal(SKEncodedOrigin.TopLeft, codec.EncodedOrigin); // FromBitmap knows no EXIF
        return PhotoPreprocessor.FromBitmap(bitmap);
    }

    private static SKEncodedOrigin Origin(byte[] bytes)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data);
        return codec.EncodedOrigin;
    }

    [Fact]
    public void Photos_under_2048_px_give_exactly_the_full_decode_result()
    {
        var files = HostileImages.ValidOddFiles().Where(f => Origin(f.Bytes) == SKEncodedOrigin.TopLeft).ToList();
        files.Add(("photo-1900.png", BigImages.Photo(1900, 1300, SKEncodedImageFormat.Png)));
        files.Add(("photo-1900.jpg", BigImages.Photo(1900, 1300, SKEncodedImageFormat.Jpeg)));
        Assert.True(files.Count >= 20, $"{files.Count} files");
        foreach (var (name, bytes) in files)
            Assert.True(FullBitmap(bytes).SequenceEqual(PhotoPreprocessor.FromBytes(bytes, name)), $"{name}: differs from the full decode");
    }

    [Theory]
    [InlineData(SKEncodedImageFormat.Png)]
    [InlineData(SKEncodedImageFormat.Jpeg)]
    public void Large_photos_decoded_at_reduced_scale_stay_close_to_the_full_decode(SKEncodedImageFormat format)
    {
        // 3000 px: a PNG is averaged down 2x2, a JPEG decoded by libjpeg at 3/8 scale.
        var bytes = BigImages.Photo(3000, 2000, format);
        var full = FullBitmap(bytes);
        var reduced = PhotoPreprocessor.FromBytes(bytes, "photo");
        var diffs = full.Zip(reduced, (a, b) => Math.Abs(a - b)).ToArray();
        double mean = diffs.Average();
        output.WriteLine($"{format}: mean |difference| {mean:F2} grey levels, max {diffs.Max()}, {diffs.Count(d => d > 16)} pixels above 16");
        Assert.True(mean < 2.0, $"{format}: mean difference {mean:F2} grey levels from the full decode");
        Assert.True(diffs.Count(d => d > 32) <= 8, $"{format}: {diffs.Count(d => d > 32)} of 784 pixels differ by more than 32");
    }

    [Fact]
    public void An_interlaced_png_gives_what_the_same_pixels_not_interlaced_give()
    {
        // Adam7 rows come in seven passes over the whole image: each strip is a full pass, fewer and larger strips.
        foreach (var (width, height) in new[] { (1500, 1000), (6000, 4000) })
            Assert.True(PhotoPreprocessor.FromBytes(BigImages.GarmentPng(width, height), "plain.png")
                .SequenceEqual(PhotoPreprocessor.FromBytes(BigImages.GarmentPng(width, height, interlaced: true), "adam7.png")), $"{width}x{height}");
    }

    [Theory]
    [InlineData("png")]
    [InlineData("interlaced png")]
    [InlineData("jpeg")]
    public void A_40_MP_photo_never_becomes_a_full_size_bitmap(string format)
    {
        var bytes = format switch
        {
            "png" => BigImages.Png40,
            "interlaced png" => BigImages.GarmentPng(BigImages.Width40, BigImages.Height40, interlaced: true),
            _ => BigImages.GarmentJpeg(BigImages.Width40, BigImages.Height40),
        };
        PhotoPreprocessor.FromBytes(bytes, "warm-up"); // JIT and Skia's first-use allocations are not the photo's
        // Managed memory of this thread alone (other tests run beside it): the full decode copied 160 MB of RGBA and
        // 40 MB of gray into managed arrays. Skia's native strip buffer is freed at once (NativeMemory), and the
        // served process's resident memory is gated in ServeUploadLimitTests.
        long before = GC.GetAllocatedBytesForCurrentThread();
        var image = PhotoPreprocessor.FromBytes(bytes, "big");
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"{format}, {bytes.Length:N0} bytes: {allocated / 1e6:F1} MB allocated");
        Assert.True(allocated < 8_000_000, $"{format}: {allocated:N0} bytes allocated decoding a 40 MP image");
        Assert.Equal(255, image.Max()); // the garment is there
        Assert.True(FullBitmapOfGarment().Zip(image, (a, b) => Math.Abs(a - b)).Average() < 4, "the 40 MP garment does not look like the small one");
    }

    /// <summary>The same garment drawn at 800x500: what the 40 MP one must look like after preprocessing.</summary>
    private static byte[] FullBitmapOfGarment() => FullBitmap(BigImages.GarmentPng(800, 500));

    [Fact]
    public void A_large_png_cut_short_is_refused_in_one_line()
    {
        var bytes = BigImages.Png40;
        var cut = bytes.AsSpan(0, bytes.Length / 2).ToArray();
        var e = Assert.Throws<ImageInputException>(() => PhotoPreprocessor.FromBytes(cut, "cut.png"));
        Assert.StartsWith("cut.png: image data is truncated or corrupt (", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_cancelled_decode_stops()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => PhotoPreprocessor.FromBytes(BigImages.Png40, "big.png", cancel.Token));
    }

    [Fact]
    public void The_size_is_read_from_the_header_alone()
    {
        // A header claiming 6000x5000 over a token IDAT: the size is known, no pixel is decoded.
        Assert.Equal((6000, 5000), PhotoPreprocessor.ReadSize(PhotoPreprocessorTests.PngHeaderOnly(6000, 5000), "header.png"));
        var e = Assert.Throws<ImageInputException>(() => PhotoPreprocessor.ReadSize(PhotoPreprocessorTests.PngHeaderOnly(10_000, 5_000), "huge.png"));
        Assert.Equal("huge.png: image is 10000×5000 = 50 MP, above the 40 MP limit", e.Message);
    }
}
