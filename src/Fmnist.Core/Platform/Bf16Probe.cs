using Fmnist.Training;
using static TorchSharp.torch;

namespace Fmnist.Platform;

/// <summary>bf16 against fp32 on this machine: the rate of one multiply in each, and their ratio.</summary>
public sealed record Bf16Speed(double Fp32Gflops, double Bf16Gflops)
{
    public double Speedup => Bf16Gflops / Fp32Gflops;
}

/// <summary>
/// Native bf16 is not always fast bf16. On AMD Zen 4 and Zen 5 (AVX512_BF16) a bf16 multiply runs at about
/// twice the fp32 rate and training 1.2-1.8x faster; on an Intel Xeon (family 6 model 207, AVX512_BF16 with no
/// AMX visible to the guest) it ran at half the fp32 rate and training 0.66-0.70x as fast (2026-12-05). The
/// flags cannot tell these apart, so where the CPU has the instructions this times them: a 1024 x 1024 x 1024
/// multiply written as a 1x1 convolution (oneDNN, the library that runs the networks' convolutions) in each
/// precision, best of five after a warm-up (~2 GFLOP each: a fraction of a second), the two in turns (see
/// <see cref="Measure"/>). Measured once per process.
/// </summary>
public static class Bf16Probe
{
    /// <summary>bf16 must multiply at least this much faster than fp32 to be chosen by `auto`: on the CPUs
    /// measured the ratio is ~2 or ~0.5, and a small gain would not pay for the rounding of bf16.</summary>
    public const double MinSpeedup = 1.2;

    private static readonly Lazy<Bf16Speed> Cached = new(() => Measure());

    /// <summary>This process's measurement, taken on first use.</summary>
    public static Bf16Speed Current => Cached.Value;

    /// <summary>
    /// The two precisions are timed in turns (fp32, bf16, fp32, bf16, ...), best of <paramref name="repetitions"/>
    /// each: on a machine shared with other jobs a burst of load then slows both alike. Timed one after the other,
    /// five each, they gave ratios of 0.2x to 1.6x on the Intel Xeon whose quiet ratio is 0.56x while the test
    /// suite ran beside a sweep of four processes, and the sweep's trials trained in different precisions.
    /// </summary>
    public static Bf16Speed Measure(int size = 1024, int repetitions = 5)
    {
        TorchRuntime.Initialize();
        using var fp32 = new TimedMultiply(ScalarType.Float32, size, conv: true);
        using var bf16 = new TimedMultiply(ScalarType.BFloat16, size, conv: true);
        double bestFp32 = double.MaxValue, bestBf16 = double.MaxValue;
        for (int r = 0; r < repetitions; r++)
        {
            bestFp32 = Math.Min(bestFp32, fp32.Seconds());
            bestBf16 = Math.Min(bestBf16, bf16.Seconds());
        }
        return new Bf16Speed(fp32.Gflops(bestFp32), bf16.Gflops(bestBf16));
    }
}
