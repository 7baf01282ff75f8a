using Fmnist.Platform;

namespace Fmnist.Training;

/// <summary>The precision a training step runs in, and why: what config.json, history and the log report.</summary>
public sealed record ResolvedPrecision(Precision Used, string Reason)
{
    public string Name => Used == Precision.Bf16 ? "bf16" : "fp32";
}

/// <summary>
/// Turns a requested precision into the one that runs. bf16 halves the memory traffic and, with AVX512_BF16
/// or AMX, doubles the arithmetic rate (the ResNet trained 1.8x faster on a Zen 4 CPU); without them libtorch
/// emulates it in software and the same step ran 15x slower than fp32 on a Zen 3 CPU. So `auto` (the
/// default of every preset that wants bf16) takes bf16 only where it is native.
/// </summary>
public static class PrecisionChoice
{
    public static ResolvedPrecision Resolve(Precision requested, CpuInfo? cpu = null)
    {
        cpu ??= CpuInfo.Current;
        return requested switch
        {
            Precision.Fp32 => new(Precision.Fp32, "fp32 requested"),
            Precision.Bf16 => new(Precision.Bf16, cpu.NativeBf16
                ? $"bf16 requested; {cpu.Bf16Reason}"
                : $"bf16 requested although {cpu.Bf16Reason}"),
            _ => cpu.NativeBf16
                ? new(Precision.Bf16, $"auto: {cpu.Bf16Reason}")
                : new(Precision.Fp32, $"auto: {cpu.Bf16Reason}"),
        };
    }
}
