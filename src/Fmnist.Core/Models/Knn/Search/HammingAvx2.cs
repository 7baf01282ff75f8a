using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Fmnist.Features;

namespace Fmnist.Models.Knn;

/// <summary>
/// 8 training images per 256-bit vector: the AVX-512 kernel's layout and tiling at half the width. AVX2 has
/// no three-input logic instruction, so a carry-save adder costs five operations instead of two; it still
/// pays, because it cuts the nibble-table lookups (vpshufb, which Zen 3 issues on only two of its four
/// vector pipes) from 50 to 16 per block.
/// </summary>
internal static class HammingAvx2
{
    private const int Lanes = 8;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per call: skip the slow first JIT tier
    public static SortedBlocks Layout(BitImages train) => SortedBlocks.Build(train, Lanes);

    /// <summary>
    /// The queries at positions q0..q1 of <paramref name="queryOrder"/> (sorted by popcount, so a chunk's
    /// queries read overlapping blocks): each scans up from the block of its own popcount, then down,
    /// and stops each way once the popcount gap alone exceeds its current K-th distance.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Chunk(SortedBlocks train, BitImages queries, int[] queryOrder, int[] queryPops, int q0, int q1, TopK[] heaps)
    {
        var lut = Vector256.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
        var nibble = Vector256.Create((byte)0x0F);
        var ones8 = Vector256.Create((sbyte)1);
        var ones16 = Vector256.Create((short)1);
        int blocks = train.Blocks, fullBlocks = train.FullBlocks;
        uint lastMask = train.LastMask;
        var qb = new uint[BitImages.Words * Lanes];
        int[] min = train.BlockMin, max = train.BlockMax, original = train.Original;

        fixed (uint* tb = train.Bits, qp = qb)
        {
            for (int i = q0; i < q1; i++)
            {
                int q = queryOrder[i], pop = queryPops[q];
                var img = queries.Image(q);
                for (int w = 0; w < BitImages.Words; w++) qb.AsSpan(w * Lanes, Lanes).Fill(img[w]);
                var heap = heaps[i - q0];
                int worst = heap.Worst;
                int start = train.StartBlock(pop);
                for (int pass = 0; pass < 2; pass++)
                {
                    int step = pass == 0 ? 1 : -1;
                    for (int b = pass == 0 ? start : start - 1; b >= 0 && b < blocks; b += step)
                    {
                        if (pass == 0 ? min[b] - pop > worst : pop - max[b] > worst) break; // every further block is farther
                        var acc = Block(tb + b * BitImages.Words * Lanes, qp, lut, nibble);
                        // Per-byte partial counts -> one 32-bit distance per lane (vpmaddubsw, vpmaddwd).
                        var dist = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(acc, ones8), ones16);
                        // Candidates arrive out of index order, so an equal distance may still win on its index: <=.
                        uint mask = (uint)Vector256.LessThanOrEqual(dist, Vector256.Create(worst)).ExtractMostSignificantBits();
                        if (b >= fullBlocks) mask &= lastMask;
                        while (mask != 0)
                        {
                            int lane = BitOperations.TrailingZeroCount(mask);
                            mask &= mask - 1;
                            int d = dist.GetElement(lane);
                            if (d <= worst)
                            {
                                heap.Push(d, original[b * Lanes + lane]);
                                worst = heap.Worst;
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>Per-byte popcounts of (train XOR query) over the 25 words for 8 training images (see the AVX-512 kernel).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<byte> Block(uint* tp, uint* qp, Vector256<byte> lut, Vector256<byte> nibble)
    {
        Vector256<uint> X(int w) => Vector256.Load(tp + w * Lanes) ^ Vector256.Load(qp + w * Lanes);
        Vector256<uint> ones = default, twos = default, fours = default;
        var eights = Vector256<byte>.Zero;
        for (int g = 0; g < 24; g += 8)
        {
            Csa(out var twosA, ref ones, X(g), X(g + 1));
            Csa(out var twosB, ref ones, X(g + 2), X(g + 3));
            Csa(out var foursA, ref twos, twosA, twosB);
            Csa(out twosA, ref ones, X(g + 4), X(g + 5));
            Csa(out twosB, ref ones, X(g + 6), X(g + 7));
            Csa(out var foursB, ref twos, twosA, twosB);
            Csa(out var eight, ref fours, foursA, foursB);
            eights += PopBytes(eight, lut, nibble);
        }
        var sum = PopBytes(fours, lut, nibble);
        sum += sum + PopBytes(twos, lut, nibble);
        sum += sum + PopBytes(ones, lut, nibble) + PopBytes(X(24), lut, nibble);
        var e2 = eights + eights;
        var e4 = e2 + e2;
        return sum + e4 + e4;
    }

    /// <summary>Carry-save adder in five AVX2 operations: carry = majority(a, b, c), sum = a ^ b ^ c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Csa(out Vector256<uint> carry, ref Vector256<uint> sum, Vector256<uint> b, Vector256<uint> c)
    {
        var u = sum ^ b;
        carry = (sum & b) | (u & c);
        sum = u ^ c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> PopBytes(Vector256<uint> v, Vector256<byte> lut, Vector256<byte> nibble)
    {
        var x = v.AsByte();
        var hi = Vector256.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & nibble;
        return Avx2.Shuffle(lut, x & nibble) + Avx2.Shuffle(lut, hi);
    }
}
