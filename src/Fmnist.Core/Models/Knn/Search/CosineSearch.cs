using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Fmnist.Data;

namespace Fmnist.Models.Knn;

/// <summary>
/// The greatest cosine similarity of a grey-level image to a set of training images, by exact integer dot products:
/// every kernel gives the same bits. The query is widened to 16 bits once; each training image is widened as it is
/// read and multiplied with vpmaddwd (32 pixels per step with AVX-512, 16 with AVX2).
/// <para>
/// Most training images are ruled out before that product. Split an image into its 4x4-block means (49 values) and the
/// rest, which is orthogonal to them: q·t = q̄·t̄ + q̃·t̃ ≤ q̄·t̄ + |q̃||t̃| (Cauchy-Schwarz). The 49-value product costs a
/// sixteenth of the full one and, for 8 training images at once, needs no horizontal sum; an image whose bound is below
/// the best similarity found so far cannot be the nearest. The answer is exactly that of the full scan.
/// </para>
/// </summary>
internal sealed class CosineSearch
{
    private const int Side = 4;                       // block side (c >> 2 below): 7x7 blocks of 16 pixels
    private const int Blocks = 49;
    private const int Lanes = 8;                      // training images per bound vector
    // Margin for rounding in the float bound (relative error ~1e-6): an image is skipped only when clearly out.
    private const float Slack = 1e-4f;
    private const int Ahead = 4;                      // groups between a kept image's fetch and its compare

    private readonly byte[] _train;
    private readonly double[] _norms;
    private readonly Lazy<Bounds> _bounds;

    /// <summary>What the bound reads, 8 training images side by side.</summary>
    /// <param name="BlockSums">Group g, block b, lane l at [(g * Blocks + b) * Lanes + l].</param>
    /// <param name="Norm">The norms as floats (0 past the last image).</param>
    /// <param name="Rest">|t̃|: the norm of what the block means leave out.</param>
    private sealed record Bounds(int[] BlockSums, float[] Norm, float[] Rest);

    /// <param name="train">N training images of 784 bytes; kept, never copied or changed.</param>
    public CosineSearch(byte[] train)
    {
        _train = train;
        _norms = new double[train.Length / ImageShape.Pixels];
        for (int t = 0; t < _norms.Length; t++) _norms[t] = Math.Sqrt(SelfDot(train.AsSpan(t * ImageShape.Pixels, ImageShape.Pixels)));
        _bounds = new(BuildBounds);
    }

    public int Count => _norms.Length;

    /// <summary>The L2 norm of each training image.</summary>
    public IReadOnlyList<double> Norms => _norms;

    /// <summary>Whether the bound's tables are built (they take ~150 ms for 48,000 images: worth it from a few dozen searches on).</summary>
    public bool Prepared => _bounds.IsValueCreated;

    /// <summary>Builds the bound's tables now.</summary>
    public void Prepare() => _ = _bounds.Value;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per set: skip the slow first JIT tier
    private Bounds BuildBounds()
    {
        int n = _norms.Length, groups = (n + Lanes - 1) / Lanes;
        var bounds = new Bounds(new int[groups * Blocks * Lanes], new float[groups * Lanes], new float[groups * Lanes]);
        Span<int> sums = stackalloc int[Blocks];
        for (int t = 0; t < n; t++)
        {
            long self = BlockSums(_train.AsSpan(t * ImageShape.Pixels, ImageShape.Pixels), sums);
            int g = t / Lanes, lane = t % Lanes;
            for (int b = 0; b < Blocks; b++) bounds.BlockSums[(g * Blocks + b) * Lanes + lane] = sums[b];
            bounds.Norm[t] = (float)_norms[t];
            bounds.Rest[t] = (float)Math.Sqrt(RestSquared(self, sums));
        }
        return bounds;
    }

    /// <summary>
    /// 1 - the best cosine similarity of <paramref name="query"/> (784 bytes) to a training image (0 = the same image
    /// up to brightness, 1 = nothing in common, and 1 for an empty query); training images of norm 0 are skipped.
    /// </summary>
    /// <param name="query">784 bytes.</param>
    /// <param name="likely">Training images compared first, so that the bound rules out more from the start (the
    /// nearest by Hamming distance are good guesses); the answer does not depend on them.</param>
    /// <param name="kernel">The dot-product kernel.</param>
    /// <param name="prune">Whether to skip training images by the bound (building its tables on first use); false compares
    /// every one in full, which is also the reference the bound is tested against.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public unsafe double Distance(ReadOnlySpan<byte> query, ReadOnlySpan<int> likely = default, SearchKernel kernel = SearchKernel.Auto, bool prune = true)
    {
        var chosen = HammingSearch.Resolve(kernel);
        Span<short> wide = stackalloc short[ImageShape.Pixels];
        for (int i = 0; i < wide.Length; i++) wide[i] = query[i];
        Span<int> sums = stackalloc int[Blocks];
        long self = BlockSums(query, sums);
        if (self == 0) return 1;
        double selfNorm = Math.Sqrt(self), best = 0;
        float queryNorm = (float)selfNorm, queryRest = (float)Math.Sqrt(RestSquared(self, sums));
        int n = _norms.Length;
        var bounds = prune && Vector256.IsHardwareAccelerated ? _bounds.Value : null;
        fixed (short* q = wide)
        fixed (byte* t0 = _train)
        fixed (int* bs = bounds?.BlockSums)
        fixed (float* nf = bounds?.Norm, rf = bounds?.Rest)
        {
            foreach (int t in likely) best = Compare(chosen, q, t0, t, selfNorm, best);
            if (bounds is null)
            {
                for (int t = 0; t < n; t++) best = Compare(chosen, q, t0, t, selfNorm, best);
            }
            else
            {
                var sixteenth = Vector256.Create(1f / (Side * Side));
                var rest = Vector256.Create(queryRest);
                // The images a group keeps are scattered: they are fetched ahead (Ahead groups before their
                // compare), since each would otherwise wait on memory where the full scan streams.
                Span<uint> pending = stackalloc uint[Ahead];
                int groups = (n + Lanes - 1) / Lanes;
                for (int g = 0; g < groups + Ahead; g++)
                {
                    if (g >= Ahead)
                    {
                        int done = g - Ahead;
                        for (uint keep = pending[done % Ahead]; keep != 0; keep &= keep - 1)
                        {
                            int t = done * Lanes + System.Numerics.BitOperations.TrailingZeroCount(keep);
                            if (t < n) best = Compare(chosen, q, t0, t, selfNorm, best);
                        }
                    }
                    if (g >= groups) continue;
                    int* group = bs + g * Blocks * Lanes;
                    var low = Vector256<int>.Zero;
                    for (int b = 0; b < Blocks; b++) low += Vector256.Create(sums[b]) * Vector256.Load(group + b * Lanes);
                    var bound = Vector256.ConvertToSingle(low) * sixteenth + rest * Vector256.Load(rf + g * Lanes);
                    // Out when bound < best * |q| * |t|, with the slack on both sides (a best still rising only keeps more).
                    var limit = Vector256.Create((float)best * queryNorm * (1 - Slack)) * Vector256.Load(nf + g * Lanes);
                    uint kept = ~Vector256.LessThan(bound * (1 + Slack), limit).ExtractMostSignificantBits() & 0xFFu;
                    pending[g % Ahead] = kept;
                    if (Sse.IsSupported)
                        for (uint k = kept; k != 0; k &= k - 1)
                        {
                            byte* image = t0 + (long)(g * Lanes + System.Numerics.BitOperations.TrailingZeroCount(k)) * ImageShape.Pixels;
                            for (int line = 0; line < ImageShape.Pixels; line += 64) Sse.Prefetch0(image + line);
                        }
                }
            }
        }
        return Math.Max(0, 1 - best);
    }

    /// <summary>The greater of <paramref name="best"/> and the exact similarity of training image <paramref name="t"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe double Compare(SearchKernel kernel, short* q, byte* t0, int t, double selfNorm, double best)
    {
        if (_norms[t] == 0) return best;
        byte* image = t0 + (long)t * ImageShape.Pixels;
        long dot = kernel switch
        {
            SearchKernel.Avx512 => DotAvx512(q, image),
            SearchKernel.Avx2 => DotAvx2(q, image),
            _ => DotScalar(q, image),
        };
        double similarity = dot / (selfNorm * _norms[t]);
        return similarity > best ? similarity : best;
    }

    /// <summary>Fills the 49 block sums of an image and returns its squared norm.</summary>
    private static long BlockSums(ReadOnlySpan<byte> image, Span<int> sums)
    {
        sums.Clear();
        long self = 0;
        const int across = ImageShape.Side / Side;
        for (int r = 0; r < ImageShape.Side; r++)
        {
            var row = image.Slice(r * ImageShape.Side, ImageShape.Side);
            var blocks = sums.Slice(r / Side * across, across);
            for (int c = 0; c < ImageShape.Side; c++)
            {
                int v = row[c];
                self += v * v;
                blocks[c >> 2] += v;
            }
        }
        return self;
    }

    private static long SelfDot(ReadOnlySpan<byte> image)
    {
        long self = 0;
        foreach (byte v in image) self += v * v;
        return self;
    }

    /// <summary>|x̃|² = |x|² − |x̄|², exact in double (integers over 16), never below 0.</summary>
    private static double RestSquared(long self, ReadOnlySpan<int> sums)
    {
        long lowTimes16 = 0;
        foreach (int s in sums) lowTimes16 += (long)s * s;
        return Math.Max(0, self - lowTimes16 / (double)(Side * Side));
    }

    // 784 = 24 * 32 + 16: the last 16 pixels take one 256-bit step. Each 32-bit lane sums at most
    // 2 * 255^2 per step over 25 steps, far below overflow.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe long DotAvx512(short* q, byte* t)
    {
        var acc = Vector512<int>.Zero;
        for (int i = 0; i < 768; i += 32)
            acc += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(t + i)), Vector512.Load(q + i));
        var tail = Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.Load(t + 768)), Vector256.Load(q + 768));
        return Vector512.Sum(acc) + Vector256.Sum(tail);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe long DotAvx2(short* q, byte* t)
    {
        var acc = Vector256<int>.Zero;
        for (int i = 0; i < ImageShape.Pixels; i += 16)
            acc += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.Load(t + i)), Vector256.Load(q + i));
        return Vector256.Sum(acc);
    }

    private static unsafe long DotScalar(short* q, byte* t)
    {
        long sum = 0;
        for (int i = 0; i < ImageShape.Pixels; i++) sum += q[i] * t[i];
        return sum;
    }
}
