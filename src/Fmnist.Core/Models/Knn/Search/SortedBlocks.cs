using System.Numerics;
using System.Runtime.CompilerServices;
using Fmnist.Features;

namespace Fmnist.Models.Knn;

/// <summary>
/// The training images sorted by popcount (ties by index) and interleaved for a vector kernel, with each
/// block's popcount range. Hamming distance is at least the difference of two popcounts, so a query need
/// only visit the blocks whose popcounts lie within its current K-th distance of its own: on Fashion-MNIST
/// (threshold 127, K=100) that window holds about a quarter of the training images, and the rest is skipped
/// without being read. The answers stay exact: a block is skipped only when no image in it can come closer.
/// </summary>
internal sealed class SortedBlocks
{
    public required uint[] Bits { get; init; }        // block b, word w, lane l at [(b*Words + w)*Lanes + l]
    public required int[] Original { get; init; }     // sorted position -> training index
    public required int[] BlockMin { get; init; }     // smallest popcount in block b
    public required int[] BlockMax { get; init; }     // largest popcount in block b (padding lanes excluded)
    public required int Count { get; init; }
    public required int Lanes { get; init; }
    public int Blocks => BlockMin.Length;
    public int FullBlocks => Count / Lanes;
    public uint LastMask => (1u << (Count % Lanes)) - 1;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per call: skip the slow first JIT tier
    public static SortedBlocks Build(BitImages train, int lanes)
    {
        var pops = Popcounts(train);
        var order = new int[train.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        var keys = new long[train.Count];
        for (int i = 0; i < keys.Length; i++) keys[i] = (long)pops[i] << 32 | (uint)i;
        Array.Sort(keys, order);
        int blocks = (train.Count + lanes - 1) / lanes;
        var bits = new uint[blocks * BitImages.Words * lanes];
        var min = new int[blocks];
        var max = new int[blocks];
        for (int s = 0; s < order.Length; s++)
        {
            var img = train.Image(order[s]);
            int b = s / lanes, lane = s % lanes;
            for (int w = 0; w < BitImages.Words; w++) bits[(b * BitImages.Words + w) * lanes + lane] = img[w];
            int p = pops[order[s]];
            if (lane == 0) min[b] = p;
            max[b] = p;
        }
        return new SortedBlocks { Bits = bits, Original = order, BlockMin = min, BlockMax = max, Count = train.Count, Lanes = lanes };
    }

    public static int[] Popcounts(BitImages images)
    {
        var pops = new int[images.Count];
        for (int i = 0; i < pops.Length; i++)
        {
            int p = 0;
            foreach (uint w in images.Image(i)) p += BitOperations.PopCount(w);
            pops[i] = p;
        }
        return pops;
    }

    /// <summary>The first block whose largest popcount reaches <paramref name="pop"/> (Blocks if none): where a query's scan starts.</summary>
    public int StartBlock(int pop)
    {
        int lo = 0, hi = Blocks;
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            if (BlockMax[mid] < pop) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
