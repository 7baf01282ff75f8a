using System.Runtime.Intrinsics.X86;
using Fmnist.Features;

namespace Fmnist.Models.Knn;

/// <summary>Which compare loop runs: chosen at run time from what .NET's JIT offers on this CPU.</summary>
internal enum SearchKernel { Auto, Avx512, Avx2, Scalar }

/// <summary>
/// Exact Hamming nearest-neighbour search. Three kernels give identical results: AVX-512 (16 training
/// images per vector) and AVX2 (8 per vector), which skip training images whose popcount alone rules them
/// out (<see cref="SortedBlocks"/>), and a brute-force portable 64-bit popcount loop that compares every
/// pair (what ARM64 runs: .NET compiles BitOperations.PopCount to NEON's CNT; untested there). Only
/// candidates within the current K-th distance are touched after the compare.
/// </summary>
internal static class HammingSearch
{
    private const int QueryChunk = 32;     // queries that share one pass over a cache-sized tile

    public static bool Avx512Available => Avx512BW.IsSupported && Avx512F.IsSupported;
    public static bool Avx2Available => Avx2.IsSupported;

    /// <summary>The kernels this process can run, fastest first (what tests run against the reference).</summary>
    public static IReadOnlyList<SearchKernel> Supported =>
        [.. new[] { SearchKernel.Avx512, SearchKernel.Avx2, SearchKernel.Scalar }.Where(IsSupported)];

    public static bool IsSupported(SearchKernel kernel) => kernel switch
    {
        SearchKernel.Avx512 => Avx512Available,
        SearchKernel.Avx2 => Avx2Available,
        _ => true,
    };

    /// <summary>Auto becomes the widest supported kernel; a forced one the CPU lacks is an error.</summary>
    public static SearchKernel Resolve(SearchKernel kernel)
    {
        if (kernel == SearchKernel.Auto) return Supported[0];
        if (!IsSupported(kernel))
            throw new FmnistException($"KNN kernel {Name(kernel)}: not available on this CPU " +
                                      $"(.NET reports {Platform.CpuInfo.DotnetVectorIsa()} vectors; DOTNET_EnableAVX512=0 or DOTNET_EnableAVX2=0 switch them off)");
        return kernel;
    }

    public static string Name(SearchKernel kernel) => kernel.ToString().ToLowerInvariant();

    /// <summary>A training set's sorted, interleaved copies, made on its first search and kept while the set lives
    /// (its bits never change once packed): a server's one-image searches would otherwise sort 48,000 images each.</summary>
    private sealed class Layout(BitImages train)
    {
        public readonly Lazy<SortedBlocks> Avx512 = new(() => HammingAvx512.Layout(train));
        public readonly Lazy<SortedBlocks> Avx2 = new(() => HammingAvx2.Layout(train));
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<BitImages, Layout> Layouts = new();

    /// <summary>Builds the layout a search of <paramref name="train"/> reads, now rather than on the first search.</summary>
    public static void Prepare(BitImages train, SearchKernel kernel = SearchKernel.Auto) => LayoutOf(train, Resolve(kernel));

    /// <summary>The sorted layout the kernel reads; null for the scalar kernel, which reads the packing itself.</summary>
    private static SortedBlocks? LayoutOf(BitImages train, SearchKernel chosen) => chosen switch
    {
        SearchKernel.Avx512 => Layouts.GetValue(train, t => new Layout(t)).Avx512.Value,
        SearchKernel.Avx2 => Layouts.GetValue(train, t => new Layout(t)).Avx2.Value,
        _ => null,
    };

    public static Neighbours Search(BitImages train, BitImages queries, int k, SearchKernel kernel = SearchKernel.Auto)
    {
        if (k < 1 || k > train.Count) throw new ArgumentOutOfRangeException(nameof(k), $"K must be 1..{train.Count}");
        var chosen = Resolve(kernel);
        var result = new Neighbours(queries.Count, k, new int[queries.Count * k], new int[queries.Count * k]);
        var sorted = LayoutOf(train, chosen);
        // Queries in popcount order: the 32 of a chunk then visit nearly the same training blocks.
        var queryPops = SortedBlocks.Popcounts(queries);
        var queryOrder = Enumerable.Range(0, queries.Count).ToArray();
        Array.Sort(queryPops.ToArray(), queryOrder);
        int chunks = (queries.Count + QueryChunk - 1) / QueryChunk;
        Parallel.For(0, chunks, () => new TopK[QueryChunk], (c, _, heaps) =>
        {
            int q0 = c * QueryChunk, q1 = Math.Min(q0 + QueryChunk, queries.Count);
            for (int q = q0; q < q1; q++) heaps[q - q0] ??= new TopK(k);
            switch (chosen)
            {
                case SearchKernel.Avx512: HammingAvx512.Chunk(sorted!, queries, queryOrder, queryPops, q0, q1, heaps); break;
                case SearchKernel.Avx2: HammingAvx2.Chunk(sorted!, queries, queryOrder, queryPops, q0, q1, heaps); break;
                default: HammingScalar.Chunk(train, queries, queryOrder, q0, q1, heaps); break;
            }
            for (int i = q0; i < q1; i++)
            {
                int q = queryOrder[i];
                heaps[i - q0].Drain(result.Index.AsSpan(q * k, k), result.Distance.AsSpan(q * k, k));
            }
            return heaps;
        }, _ => { });
        return result;
    }
}
