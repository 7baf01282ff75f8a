using System.Buffers.Binary;
using System.Text;

namespace Fmnist.Tests;

/// <summary>
/// Seeded damage to an image file. Beside blind bit flips and cuts, edits that know the format: a PNG chunk's
/// length or the image size in IHDR (with the CRC made valid again, so the decoder gets past the check and
/// into the code behind it), a JPEG segment's length or the frame size in SOF.
/// </summary>
public static class ImageMutations
{
    public static readonly string[] Kinds = ["bit-flips", "truncation", "length-field", "size-field", "overwritten-run", "inserted-bytes"];

    public static byte[] Mutate(byte[] original, string kind, Random rng)
    {
        var b = (byte[])original.Clone();
        bool png = b.Length > 8 && b[0] == 0x89 && b[1] == (byte)'P';
        switch (kind)
        {
            case "bit-flips":
                for (int i = rng.Next(1, 17); i > 0; i--) b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                return b;
            case "truncation":
                return b[..rng.Next(1, b.Length)];
            case "length-field":
                return png ? PngLength(b, rng) : JpegLength(b, rng);
            case "size-field":
                return png ? PngSize(b, rng) : JpegSize(b, rng);
            case "overwritten-run":
            {
                int start = rng.Next(b.Length), count = Math.Min(b.Length - start, rng.Next(1, 64));
                byte fill = rng.Next(3) switch { 0 => 0x00, 1 => 0xFF, _ => (byte)rng.Next(256) };
                b.AsSpan(start, count).Fill(fill);
                return b;
            }
            default: // inserted-bytes: random ones, or a copy of a stretch of the file itself
            {
                int at = rng.Next(b.Length), count = rng.Next(1, 200);
                var extra = new byte[count];
                if (rng.Next(2) == 0) rng.NextBytes(extra);
                else for (int i = 0; i < count; i++) extra[i] = b[(at + i) % b.Length];
                return [.. b.AsSpan(0, at), .. extra, .. b.AsSpan(at)];
            }
        }
    }

    private static readonly uint[] OddLengths = [0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0x80000000, 13, 65535];

    private static byte[] PngLength(byte[] b, Random rng)
    {
        var chunks = PngChunks(b);
        var (offset, length) = chunks[rng.Next(chunks.Count)];
        uint value = rng.Next(3) == 0 ? OddLengths[rng.Next(OddLengths.Length)] : (uint)Math.Max(0, length + rng.Next(-3, 4));
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(offset), value);
        return b;
    }

    private static byte[] PngSize(byte[] b, Random rng)
    {
        // IHDR: length at 8, type at 12, width at 16, height at 20, CRC over type + 13 data bytes at 29.
        int[] sizes = [0, 1, 2, 65535, 100_000, 0x7FFFFFFF, unchecked((int)0x80000000), 6_000, 7_000];
        if (rng.Next(3) == 0)
        {
            // Both sides: a header claiming more than the 40 MP limit, refused before any pixel is decoded.
            int side = new[] { 7_000, 65535, 0x7FFFFFFF }[rng.Next(3)];
            BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(16), side);
            BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(20), side);
        }
        else BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(16 + 4 * rng.Next(2)), sizes[rng.Next(sizes.Length)]);
        if (rng.Next(4) > 0) BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(29), PhotoPreprocessorTests.Crc32(b[12..29]));
        return b;
    }

    private static byte[] JpegLength(byte[] b, Random rng)
    {
        var segments = JpegSegments(b);
        if (segments.Count == 0) return Mutate(b, "bit-flips", rng);
        var (offset, length) = segments[rng.Next(segments.Count)];
        int value = rng.Next(3) == 0 ? new[] { 0, 1, 2, 3, 0xFFFF, 0x8000 }[rng.Next(6)] : Math.Clamp(length + rng.Next(-3, 4), 0, 0xFFFF);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(offset), (ushort)value);
        return b;
    }

    private static byte[] JpegSize(byte[] b, Random rng)
    {
        // SOF0..SOF15 (not DHT C4, JPG C8, DAC CC): length, precision, height, width, components.
        var frame = JpegSegments(b).FirstOrDefault(s => b[s.Offset - 1] is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC);
        if (frame.Offset == 0) return Mutate(b, "bit-flips", rng);
        int[] sizes = [0, 1, 2, 8, 65535, 30000, 6500];
        if (rng.Next(3) == 0) // both sides, above the pixel limit
        {
            BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(frame.Offset + 3), 65535);
            BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(frame.Offset + 5), 65535);
        }
        else BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(frame.Offset + 3 + 2 * rng.Next(2)), (ushort)sizes[rng.Next(sizes.Length)]);
        if (rng.Next(3) == 0) b[frame.Offset + 2] = (byte)new[] { 0, 12, 16, 255 }[rng.Next(4)]; // sample precision
        return b;
    }

    /// <summary>(offset of the length field, length) of each chunk, as far as the file's lengths can be followed.</summary>
    private static List<(int Offset, int Length)> PngChunks(byte[] b)
    {
        var chunks = new List<(int, int)>();
        for (int at = 8; at + 12 <= b.Length;)
        {
            int length = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(at)), int.MaxValue - 12);
            chunks.Add((at, length));
            if (Encoding.ASCII.GetString(b, at + 4, 4) == "IEND") break;
            at += 12 + length;
        }
        return chunks;
    }

    /// <summary>(offset of the length field, length) of each marker segment before the scan data.</summary>
    private static List<(int Offset, int Length)> JpegSegments(byte[] b)
    {
        var segments = new List<(int, int)>();
        for (int at = 2; at + 4 <= b.Length && b[at] == 0xFF;)
        {
            byte marker = b[at + 1];
            int length = BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(at + 2));
            segments.Add((at + 2, length));
            if (marker == 0xDA) break; // start of scan: entropy-coded data follows
            at += 2 + length;
        }
        return segments;
    }
}
