using Fmnist.Platform;

namespace Fmnist.Training;

/// <summary>The precision a training step runs in, and why: what config.json, history and the log report.</summary>
public sealed record ResolvedPrecision(Precision Used, string Reason)
{
    public string Name => Used == Precision.Bf16 ? "bf16" : "fp32";
}

/// <summary>
/// Turns a requested precision into the one that runs. bf16 halves the memory traffic and, where the CPU's
/// bf16 instructions are fast, doubles the arithmetic rate (the ResNet trained 1.8x faster on a Zen 4 CPU);
/// without them libtorch emulates it in software and the same step ran 15x slower than fp32 on a Zen 3 CPU,
/// and with them but slow (an Intel Xeon without AMX) training ran 0.7x as fast. So `auto` (the default of
/// every preset that wants bf16) takes bf16 only where it is native and measured faster here
/// (<see cref="Bf16Probe"/>); the probe runs only on CPUs with native bf16.
/// </summary>
public static class PrecisionChoice
{
    /// <param name="bf16Speed">The bf16 measurement to judge by (tests pass their own); this process's probe when null.</param>
    public static ResolvedPrecision Resolve(Precision requested, CpuInfo? cpu = null, Func<Bf16Speed>? bf16Speed = null)
    {
        cpu ??= CpuInfo.Current;
        switch (requested)
        {
            case Precision.Fp32: return new(Precision.Fp32, "fp32 requested");
            case Precision.Bf16:
                return new(Precision.Bf16, cpu.NativeBf16 ? $"bf16 requested; {cpu.Bf16Reason}" : $"bf16 requested although {cpu.Bf16Reason}");
        }
        if (!cpu.NativeBf16) return new(Precision.Fp32, $"auto: {cpu.Bf16Reason}");
        var speed = (bf16Speed ?? (() => Bf16Probe.Current))();
        string measured = $"a bf16 multiply ran at {speed.Speedup:F2}x the fp32 rate here ({speed.Bf16Gflops:F0} against {speed.Fp32Gflops:F0} GFLOP/s)";
        return speed.Speedup >= Bf16Probe.MinSpeedup
            ? new(Precision.Bf16, $"auto: {cpu.Bf16Reason}, and {measured}")
            : new(Precision.Fp32, $"auto: {cpu.Bf16Reason}, but {measured}, below the {Bf16Probe.MinSpeedup:F1}x bf16 must gain: fp32 is faster on this CPU");
    }
}
