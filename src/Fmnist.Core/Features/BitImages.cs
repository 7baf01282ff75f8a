using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Fmnist.Data;

namespace Fmnist.Features;

/// <summary>
/// Images binarized with <c>pixel &gt; threshold</c> and packed 32 pixels to a word, row-major:
/// bit j of word w is pixel 32*w + j. Each image takes <see cref="Stride"/> words; the padding bits
/// (784..831) are always zero, so they never add to a Hamming distance.
/// </summary>
internal sealed class BitImages
{
    public const int Words = 25;   // 800 bits >= 784 pixels: what the vector kernel reads
    public const int Stride = 26;  // 832 bits = 13 whole ulongs: what the scalar kernel reads

    public BitImages(uint[] bits, int count)
    {
        if (bits.Length != count * Stride) throw new ArgumentException("bits.Length must be count * Stride");
        Bits = bits;
        Count = count;
    }

    public uint[] Bits { get; }
    public int Count { get; }

    public ReadOnlySpan<uint> Image(int i) => Bits.AsSpan(i * Stride, Stride);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per call: skip the slow first JIT tier
    public static BitImages Pack(ReadOnlySpan<byte> images, int threshold)
    {
        if (threshold is < 0 or > 255) throw new ArgumentOutOfRangeException(nameof(threshold), "threshold must be 0..255");
        int count = images.Length / ImageShape.Pixels;
        var bits = new uint[count * Stride];
        for (int i = 0; i < count; i++)
        {
            var img = images.Slice(i * ImageShape.Pixels, ImageShape.Pixels);
            var dst = MemoryMarshal.Cast<uint, ulong>(bits.AsSpan(i * Stride, Stride));
            int p = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                // 64 pixels -> one 64-bit mask: bit j = pixel p+j, the same layout as the scalar loop below.
                var limit = Vector512.Create((byte)threshold);
                for (; p + 64 <= img.Length; p += 64)
                    dst[p >> 6] = Vector512.GreaterThan(Vector512.Create(img.Slice(p, 64)), limit).ExtractMostSignificantBits();
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                // AVX2 (or AVX-512 switched off): two 32-pixel masks per word, same layout.
                var limit = Vector256.Create((byte)threshold);
                for (; p + 64 <= img.Length; p += 64)
                {
                    ulong lo = Vector256.GreaterThan(Vector256.Create(img.Slice(p, 32)), limit).ExtractMostSignificantBits();
                    ulong hi = Vector256.GreaterThan(Vector256.Create(img.Slice(p + 32, 32)), limit).ExtractMostSignificantBits();
                    dst[p >> 6] = lo | hi << 32;
                }
            }
            for (; p < img.Length; p++)
                if (img[p] > threshold) dst[p >> 6] |= 1UL << (p & 63);
        }
        return new BitImages(bits, count);
    }
}
