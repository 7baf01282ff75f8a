using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Fmnist.Data;

namespace Fmnist.Models.Knn;

/// <summary>
/// The greatest cosine similarity of grey-level images to a set of training images, by exact integer dot products:
/// every kernel gives the same bits. The query is widened to 16 bits once; each training image is widened as it is
/// read and multiplied with vpmaddwd (32 pixels per step with AVX-512, 16 with AVX2).
/// </summary>
internal static class CosineSearch
{
    /// <summary>The L2 norm of each image (N*784 bytes), what <see cref="Distance"/> divides by.</summary>
    public static double[] Norms(byte[] images)
    {
        var norms = new double[images.Length / ImageShape.Pixels];
        for (int i = 0; i < norms.Length; i++)
        {
            var image = images.AsSpan(i * ImageShape.Pixels, ImageShape.Pixels);
            long self = 0;
            foreach (byte p in image) self += p * p;
            norms[i] = Math.Sqrt(self);
        }
        return norms;
    }

    /// <summary>
    /// 1 - the best cosine similarity of <paramref name="query"/> (784 bytes) to a training image (0 = the same image
    /// up to brightness, 1 = nothing in common, and 1 for an empty query); training images of norm 0 are skipped.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe double Distance(ReadOnlySpan<byte> query, byte[] train, double[] norms, SearchKernel kernel = SearchKernel.Auto)
    {
        var chosen = HammingSearch.Resolve(kernel);
        Span<short> wide = stackalloc short[ImageShape.Pixels];
        long self = 0;
        for (int i = 0; i < wide.Length; i++)
        {
            wide[i] = query[i];
            self += query[i] * query[i];
        }
        if (self == 0) return 1;
        double selfNorm = Math.Sqrt(self), best = 0;
        fixed (short* q = wide)
        fixed (byte* t0 = train)
        {
            for (int t = 0; t < norms.Length; t++)
            {
                if (norms[t] == 0) continue;
                byte* image = t0 + (long)t * ImageShape.Pixels;
                long dot = chosen switch
                {
                    SearchKernel.Avx512 => DotAvx512(q, image),
                    SearchKernel.Avx2 => DotAvx2(q, image),
                    _ => DotScalar(q, image),
                };
                double similarity = dot / (selfNorm * norms[t]);
                if (similarity > best) best = similarity;
            }
        }
        return Math.Max(0, 1 - best);
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
