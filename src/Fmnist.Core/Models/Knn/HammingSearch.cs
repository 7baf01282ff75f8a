using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Fmnist.Features;

namespace Fmnist.Models.Knn;

public enum SearchKernel { Auto, Avx512, Scalar }

/// <summary>
/// Exact brute-force Hamming nearest-neighbour search. Every query is compared with every training
/// image once; only candidates that beat the current K-th best are touched after the compare.
/// </summary>
public static class HammingSearch
{
    private const int Lanes = 16;          // training images per vector block (one uint lane each)
    private const int QueryChunk = 32;     // queries that share one pass over a cache-sized tile
    private const int TileBlocks = 128;    // 2,048 training images = 200 KB of bits: stays in L2

    public static bool Avx512Available => Avx512BW.IsSupported && Avx512F.IsSupported;

    public static Neighbours Search(BitImages train, BitImages queries, int k, SearchKernel kernel = SearchKernel.Auto)
    {
        if (k < 1 || k > train.Count) throw new ArgumentOutOfRangeException(nameof(k), $"K must be 1..{train.Count}");
        bool vector = kernel switch
        {
            SearchKernel.Avx512 => Avx512Available ? true : throw new PlatformNotSupportedException("AVX-512BW is not available"),
            SearchKernel.Scalar => false,
            _ => Avx512Available,
        };
        var result = new Neighbours(queries.Count, k, new int[queries.Count * k], new int[queries.Count * k]);
        uint[]? blocked = vector ? Interleave(train) : null;
        int chunks = (queries.Count + QueryChunk - 1) / QueryChunk;
        Parallel.For(0, chunks, () => new TopK[QueryChunk], (c, _, heaps) =>
        {
            int q0 = c * QueryChunk, q1 = Math.Min(q0 + QueryChunk, queries.Count);
            for (int q = q0; q < q1; q++) heaps[q - q0] ??= new TopK(k);
            if (blocked is not null) ChunkAvx512(blocked, train.Count, queries, q0, q1, heaps);
            else ChunkScalar(train, queries, q0, q1, heaps);
            for (int q = q0; q < q1; q++)
                heaps[q - q0].Drain(result.Index.AsSpan(q * k, k), result.Distance.AsSpan(q * k, k));
            return heaps;
        }, _ => { });
        return result;
    }

    /// <summary>Block b holds images 16b..16b+15; word w of lane l sits at [b*400 + w*16 + l].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per call: skip the slow first JIT tier
    private static uint[] Interleave(BitImages train)
    {
        int blocks = (train.Count + Lanes - 1) / Lanes;
        var blocked = new uint[blocks * BitImages.Words * Lanes];
        for (int i = 0; i < train.Count; i++)
        {
            var img = train.Image(i);
            int b = i / Lanes, lane = i % Lanes;
            for (int w = 0; w < BitImages.Words; w++)
                blocked[(b * BitImages.Words + w) * Lanes + lane] = img[w];
        }
        return blocked;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per call: skip the slow first JIT tier
    private static void ChunkScalar(BitImages train, BitImages queries, int q0, int q1, TopK[] heaps)
    {
        var t = MemoryMarshal.Cast<uint, ulong>(train.Bits.AsSpan());
        const int W = BitImages.Stride / 2;
        for (int q = q0; q < q1; q++)
        {
            var qs = MemoryMarshal.Cast<uint, ulong>(queries.Image(q));
            var heap = heaps[q - q0];
            int worst = heap.Worst;
            for (int i = 0; i < train.Count; i++)
            {
                var ti = t.Slice(i * W, W);
                int d = 0;
                for (int w = 0; w < W; w++) d += BitOperations.PopCount(qs[w] ^ ti[w]);
                if (d < worst)
                {
                    heap.Push(d, i);
                    worst = heap.Worst;
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ChunkAvx512(uint[] blocked, int trainCount, BitImages queries, int q0, int q1, TopK[] heaps)
    {
        // Popcount of each nibble, repeated per 128-bit lane for vpshufb.
        var lut = Vector512.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
        var nibble = Vector512.Create((byte)0x0F);
        var ones8 = Vector512.Create((sbyte)1);
        var ones16 = Vector512.Create((short)1);
        int blocks = (trainCount + Lanes - 1) / Lanes;
        int fullBlocks = trainCount / Lanes;
        var lastMask = (ushort)((1 << (trainCount % Lanes)) - 1);

        // Each query word broadcast to 16 lanes, so the inner loop is two loads and an xor.
        var qb = new uint[(q1 - q0) * BitImages.Words * Lanes];
        for (int q = q0; q < q1; q++)
        {
            var img = queries.Image(q);
            for (int w = 0; w < BitImages.Words; w++)
                qb.AsSpan(((q - q0) * BitImages.Words + w) * Lanes, Lanes).Fill(img[w]);
        }

        fixed (uint* tb = blocked, qbase = qb)
        {
            for (int tile = 0; tile < blocks; tile += TileBlocks)
            {
                int tileEnd = Math.Min(tile + TileBlocks, blocks);
                for (int q = q0; q < q1; q++)
                {
                    var heap = heaps[q - q0];
                    uint* qp = qbase + (q - q0) * BitImages.Words * Lanes;
                    int worst = heap.Worst;
                    for (int b = tile; b < tileEnd; b++)
                    {
                        uint* tp = tb + b * BitImages.Words * Lanes;
                        var acc = HammingBlock(tp, qp, lut, nibble);
                        // Per-byte partial counts -> one 32-bit distance per lane.
                        var dist = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(acc, ones8), ones16);
                        var mask = (uint)Vector512.LessThan(dist, Vector512.Create(worst)).ExtractMostSignificantBits();
                        if (b >= fullBlocks) mask &= lastMask;
                        while (mask != 0)
                        {
                            int lane = BitOperations.TrailingZeroCount(mask);
                            mask &= mask - 1;
                            int d = dist.GetElement(lane);
                            if (d < worst)
                            {
                                heap.Push(d, b * Lanes + lane);
                                worst = heap.Worst;
                            }
                        }
                    }
                }
            }
        }
        }

    /// <summary>
    /// Per-byte popcounts of (train XOR query) for 16 training images at once, summed over the 25
    /// words. A Harley-Seal carry-save adder tree (each adder two vpternlogd) folds 8 words into one
    /// "eights" vector, so the costly nibble-table popcount runs on 4 vectors per 8 words instead of 8.
    /// The weighted sum equals the true count, at most 200 per byte: no overflow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<byte> HammingBlock(uint* tp, uint* qp, Vector512<byte> lut, Vector512<byte> nibble)
    {
        Vector512<uint> X(int w) => Vector512.Load(tp + w * Lanes) ^ Vector512.Load(qp + w * Lanes);
        Vector512<uint> ones = default, twos = default, fours = default;
        var eights = Vector512<byte>.Zero;
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
        sum += sum + PopBytes(twos, lut, nibble);            // 2*fours + twos
        sum += sum + PopBytes(ones, lut, nibble) + PopBytes(X(24), lut, nibble); // 4*fours + 2*twos + ones + last word
        var e2 = eights + eights;
        var e4 = e2 + e2;
        return sum + e4 + e4;                                 // + 8*eights
    }

    /// <summary>Carry-save adder: (carry, sum) = a + b + c per bit position.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Csa(out Vector512<uint> carry, ref Vector512<uint> sum, Vector512<uint> b, Vector512<uint> c)
    {
        carry = Avx512F.TernaryLogic(sum, b, c, 0xE8); // majority
        sum = Avx512F.TernaryLogic(sum, b, c, 0x96);   // a ^ b ^ c
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> PopBytes(Vector512<uint> v, Vector512<byte> lut, Vector512<byte> nibble)
    {
        var x = v.AsByte();
        var hi = Vector512.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & nibble;
        return Avx512BW.Shuffle(lut, x & nibble) + Avx512BW.Shuffle(lut, hi);
    }
}
