using System.Diagnostics;
using static TorchSharp.torch;

namespace Fmnist.Platform;

/// <summary>What libtorch's matrix multiply reaches on this machine: the ceiling a benchmark's GFLOP/s is measured against.</summary>
public sealed record GemmPeakResult(int Size, int Threads, double Fp32Gflops, double? Bf16Gflops);

/// <summary>
/// Times a large square matrix multiply (2048 x 2048 by default: big enough that MKL/oneDNN reach their steady
/// rate, small enough to take well under a second) after a warm-up, best of a few repetitions. bf16 is timed
/// only where the CPU computes it natively: emulated it takes minutes and means nothing.
/// </summary>
public static class GemmPeak
{
    public static GemmPeakResult Measure(int size = 2048, int repetitions = 5)
    {
        Training.TorchRuntime.Initialize();
        double fp32 = Time(ScalarType.Float32, size, repetitions);
        double? bf16 = CpuInfo.Current.NativeBf16 ? Time(ScalarType.BFloat16, size, repetitions) : null;
        return new GemmPeakResult(size, get_num_threads(), fp32, bf16);
    }

    private static double Time(ScalarType type, int n, int repetitions)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var gen = new Generator(7);
        var a = rand([n, n], generator: gen).to_type(type);
        var b = rand([n, n], generator: gen).to_type(type);
        matmul(a, b).Dispose(); // warm-up: thread pool, packing buffers
        double best = double.MaxValue;
        for (int r = 0; r < repetitions; r++)
        {
            var watch = Stopwatch.StartNew();
            matmul(a, b).Dispose();
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return 2.0 * n * n * n / best / 1e9;
    }
}
