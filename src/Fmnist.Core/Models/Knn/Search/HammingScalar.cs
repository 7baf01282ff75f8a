using System.Numerics;
using System.Runtime.CompilerServices;
using Fmnist.Features;

namespace Fmnist.Models.Knn;

/// <summary>The portable kernel: 13 64-bit popcounts per pair, the query's words held in locals.</summary>
internal static class HammingScalar
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per call: skip the slow first JIT tier
    public static unsafe void Chunk(BitImages train, BitImages queries, int[] queryOrder, int q0, int q1, TopK[] heaps)
    {
        const int W = BitImages.Stride / 2; // 13 ulongs per image
        fixed (uint* tbits = train.Bits, qbits = queries.Bits)
        {
            ulong* t0 = (ulong*)tbits;
            for (int n = q0; n < q1; n++)
            {
                int q = queryOrder[n];
                ulong* qs = (ulong*)(qbits + (long)q * BitImages.Stride);
                ulong a0 = qs[0], a1 = qs[1], a2 = qs[2], a3 = qs[3], a4 = qs[4], a5 = qs[5], a6 = qs[6],
                      a7 = qs[7], a8 = qs[8], a9 = qs[9], a10 = qs[10], a11 = qs[11], a12 = qs[12];
                var heap = heaps[n - q0];
                int worst = heap.Worst;
                ulong* t = t0;
                for (int i = 0; i < train.Count; i++, t += W)
                {
                    int d = BitOperations.PopCount(t[0] ^ a0) + BitOperations.PopCount(t[1] ^ a1)
                          + BitOperations.PopCount(t[2] ^ a2) + BitOperations.PopCount(t[3] ^ a3)
                          + BitOperations.PopCount(t[4] ^ a4) + BitOperations.PopCount(t[5] ^ a5)
                          + BitOperations.PopCount(t[6] ^ a6) + BitOperations.PopCount(t[7] ^ a7)
                          + BitOperations.PopCount(t[8] ^ a8) + BitOperations.PopCount(t[9] ^ a9)
                          + BitOperations.PopCount(t[10] ^ a10) + BitOperations.PopCount(t[11] ^ a11)
                          + BitOperations.PopCount(t[12] ^ a12);
                    if (d < worst)
                    {
                        heap.Push(d, i);
                        worst = heap.Worst;
                    }
                }
            }
        }
    }
}
