using System.Diagnostics;
using static TorchSharp.torch;

namespace Fmnist.Platform;

/// <summary>What libtorch's matrix multiply reaches on this machine: the ceiling a benchmark's GFLOP/s is measured against.
/// <see cref="Fp32Gflops"/> and <see cref="Bf16Gflops"/> are the faster of the two measured paths.</summary>
internal sealed record GemmPeakResult(int Size, int Threads, double Fp32Gflops, double? Bf16Gflops)
{
    /// <summary>`matmul` of two Size x Size matrices (MKL's sgemm for fp32, oneDNN for bf16).</summary>
    public double Fp32MatmulGflops { get; init; }
    /// <summary>The same multiply as a 1x1 convolution: oneDNN's own kernels, which train the networks.</summary>
    public double Fp32ConvGflops { get; init; }
    public double? Bf16MatmulGflops { get; init; }
    public double? Bf16ConvGflops { get; init; }
}

/// <summary>
/// Times a large square matrix multiply (2048 x 2048 by default: big enough that MKL/oneDNN reach their steady
/// rate, small enough to take well under a second) after a warm-up, best of a few repetitions, twice: as `matmul`
/// and as a 1x1 convolution over a 2048-channel, 2048-pixel image. The two run different libraries (MKL's sgemm
/// and oneDNN's kernels), and on some CPUs one is far slower (on a Zen 5 MKL's fp32 sgemm reaches ~200 GFLOP/s,
/// below what oneDNN's convolutions train at), so the peak is the faster of the two. bf16 is timed only where
/// the CPU computes it natively: emulated it takes minutes and means nothing.
/// </summary>
internal static class GemmPeak
{
    public static GemmPeakResult Measure(int size = 2048, int repetitions = 5)
    {
        Training.TorchRuntime.BeforeFirstUse();
        double fp32Matmul = Time(ScalarType.Float32, size, repetitions, conv: false);
        double fp32Conv = Time(ScalarType.Float32, size, repetitions, conv: true);
        double? bf16Matmul = null, bf16Conv = null;
        if (CpuInfo.Current.NativeBf16)
        {
            bf16Matmul = Time(ScalarType.BFloat16, size, repetitions, conv: false);
            bf16Conv = Time(ScalarType.BFloat16, size, repetitions, conv: true);
        }
        return new GemmPeakResult(size, get_num_threads(), Math.Max(fp32Matmul, fp32Conv),
            bf16Matmul is { } bm && bf16Conv is { } bc ? Math.Max(bm, bc) : null)
        {
            Fp32MatmulGflops = fp32Matmul,
            Fp32ConvGflops = fp32Conv,
            Bf16MatmulGflops = bf16Matmul,
            Bf16ConvGflops = bf16Conv,
        };
    }

    internal static double Time(ScalarType type, int n, int repetitions, bool conv)
    {
        using var multiply = new TimedMultiply(type, n, conv);
        double best = double.MaxValue;
        for (int r = 0; r < repetitions; r++) best = Math.Min(best, multiply.Seconds());
        return multiply.Gflops(best);
    }
}

/// <summary>
/// One n x n x n multiply in one precision, its operands made (seeded) and run once as a warm-up (thread pool,
/// packing buffers) when constructed; <see cref="Seconds"/> times one more run. As a convolution it is a
/// (1, n, side, side) input and n x n x 1 x 1 filters: the same n^3 multiply-adds, through oneDNN.
/// </summary>
internal sealed class TimedMultiply : IDisposable
{
    private readonly Tensor _a, _b;
    private readonly bool _conv;
    private readonly long _pixels;
    private readonly int _n;

    public TimedMultiply(ScalarType type, int n, bool conv)
    {
        using var _ = no_grad();
        using var gen = new Generator(7); // a native handle, like the tensors
        int side = (int)Math.Sqrt(n);
        (_n, _conv, _pixels) = (n, conv, conv ? (long)side * (n / side) : n);
        _a = InType(conv ? rand([1, n, side, n / side], generator: gen) : rand([n, n], generator: gen), type);
        _b = InType(conv ? rand([n, n, 1, 1], generator: gen) : rand([n, n], generator: gen), type);
        Seconds();
    }

    private static Tensor InType(Tensor t, ScalarType type)
    {
        var converted = t.to_type(type);
        if (!ReferenceEquals(converted, t)) t.Dispose();
        return converted;
    }

    /// <summary>Wall seconds of one multiply.</summary>
    public double Seconds()
    {
        using var _ = no_grad();
        var watch = Stopwatch.StartNew();
        (_conv ? nn.functional.conv2d(_a, _b) : matmul(_a, _b)).Dispose();
        return watch.Elapsed.TotalSeconds;
    }

    public double Gflops(double seconds) => 2.0 * _n * _n * _pixels / seconds / 1e9;

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }
}
