using System.Buffers.Binary;
using System.Text;
using Fmnist.Imaging;
using SkiaSharp;

namespace Fmnist.Tests;

public sealed class PhotoPreprocessorTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fmnist-photo-" + Guid.NewGuid().ToString("N"));

    public PhotoPreprocessorTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void DarkObjectOnWhite_IsInvertedAndCropped()
    {
        string path = Save(Disc(SKColors.White, SKColors.Black), SKEncodedImageFormat.Png, "dark-on-white.png");

        byte[] image = PhotoPreprocessor.Load(path);

        AssertLightDiscOnBlack(image);
    }

    [Fact]
    public void LightObjectOnBlack_IsNotInverted()
    {
        string path = Save(Disc(SKColors.Black, SKColors.White), SKEncodedImageFormat.Png, "light-on-black.png");

        AssertLightDiscOnBlack(PhotoPreprocessor.Load(path));
    }

    [Fact]
    public void Jpeg_IsAccepted()
    {
        string path = Save(Disc(SKColors.White, new SKColor(40, 40, 120)), SKEncodedImageFormat.Jpeg, "photo.jpg");

        AssertLightDiscOnBlack(PhotoPreprocessor.Load(path));
    }

    [Fact]
    public void TransparentBackground_CountsAsWhite()
    {
        using SKBitmap bitmap = Disc(SKColors.Transparent, SKColors.Black);

        AssertLightDiscOnBlack(PhotoPreprocessor.FromBitmap(bitmap));
    }

    [Fact]
    public void BlankImage_GivesAllBlack()
    {
        using var bitmap = new SKBitmap(50, 40);
        bitmap.Erase(SKColors.White);

        Assert.All(PhotoPreprocessor.FromBitmap(bitmap), p => Assert.Equal(0, p));
    }

    [Fact]
    public void MissingFile_IsReported()
    {
        string path = Path.Combine(_dir, "nope.png");
        var e = Assert.Throws<ImageInputException>(() => PhotoPreprocessor.Load(path));
        Assert.Equal($"{path}: file not found", e.Message);
    }

    [Fact]
    public void EmptyFile_IsReported()
    {
        string path = Path.Combine(_dir, "empty.png");
        File.WriteAllBytes(path, []);
        var e = Assert.Throws<ImageInputException>(() => PhotoPreprocessor.Load(path));
        Assert.Equal($"{path}: file is empty", e.Message);
    }

    [Fact]
    public void GarbageBytes_AreReported()
    {
        string path = Path.Combine(_dir, "notes.jpg");
        File.WriteAllText(path, "these are not the pixels you are looking for\n");
        var e = Assert.Throws<ImageInputException>(() => PhotoPreprocessor.Load(path));
        Assert.Equal($"{path}: not a PNG or JPEG image", e.Message);
    }

    [Fact]
    public void HugeImage_IsRefusedFromItsHeader()
    {
        // Only the header claims 10000x5000; decoding the pixels would fail, so passing proves they were not read.
        string path = Path.Combine(_dir, "huge.png");
        File.WriteAllBytes(path, PngHeaderOnly(10_000, 5_000));
        var e = Assert.Throws<ImageInputException>(() => PhotoPreprocessor.Load(path));
        Assert.Equal($"{path}: image is 10000×5000 = 50 MP, above the 40 MP limit", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Messages_AreUserErrors()
    {
        Assert.IsAssignableFrom<FmnistException>(new ImageInputException("a.png", "file is empty"));
    }

    /// <summary>A 300x200 picture of a disc (diameter 120) off centre, the way a photo rarely frames a garment.</summary>
    private static SKBitmap Disc(SKColor background, SKColor disc)
    {
        var bitmap = new SKBitmap(new SKImageInfo(300, 200, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(background);
        using var paint = new SKPaint { Color = disc, IsAntialias = true, Style = SKPaintStyle.Fill };
        canvas.DrawCircle(190, 90, 60, paint);
        return bitmap;
    }

    private string Save(SKBitmap bitmap, SKEncodedImageFormat format, string name)
    {
        using (bitmap)
        {
            using SKData data = bitmap.Encode(format, 90);
            string path = Path.Combine(_dir, name);
            File.WriteAllBytes(path, data.ToArray());
            return path;
        }
    }

    private static void AssertLightDiscOnBlack(byte[] image)
    {
        Assert.Equal(28 * 28, image.Length);
        Assert.Equal(255, image.Max());
        int At(int x, int y) => image[y * 28 + x];
        // Corners lie outside the disc: black, so the background was turned (or kept) dark.
        foreach (var (x, y) in new[] { (0, 0), (27, 0), (0, 27), (27, 27) })
            Assert.True(At(x, y) < 40, $"corner ({x},{y}) = {At(x, y)}");
        Assert.True(At(14, 14) > 200, $"centre = {At(14, 14)}");
        // Cropped: the disc spans the whole width. Uncropped it would cover only x = 10..18 of 28.
        Assert.True(At(2, 14) > 128 && At(25, 14) > 128, $"edges of the middle row = {At(2, 14)}, {At(25, 14)}");
    }

    /// <summary>PNG signature, an IHDR claiming the given size, a token IDAT and IEND, all with valid CRCs.</summary>
    internal static byte[] PngHeaderOnly(int width, int height)
    {
        using var stream = new MemoryStream();
        stream.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth; colour type 0 = grayscale, no interlace
        WriteChunk(stream, "IHDR", ihdr);
        WriteChunk(stream, "IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        WriteChunk(stream, "IEND", []);
        return stream.ToArray();
    }

    internal static void WriteChunk(Stream stream, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        stream.Write(word);
        byte[] typeAndData = [.. Encoding.ASCII.GetBytes(type), .. data];
        stream.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typeAndData));
        stream.Write(word);
    }

    internal static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }
}
