using Fmnist.Platform;

namespace Fmnist.Training;

/// <summary>The precision a training step runs in, and why: what config.json, history and the log report.</summary>
internal sealed record ResolvedPrecision(Precision Used, string Reason)
{
    public string Name => Used == Precision.Bf16 ? "bf16" : "fp32";
}

/// <summary>
/// Turns a requested precision into the one that runs. bf16 halves the memory traffic and, where the CPU's
/// bf16 instructions are fast, doubles the arithmetic rate; without them libtorch emulates it in software (15x
/// slower than fp32 on a Zen 3), and with AVX512_BF16 but no AMX tiles an Intel Xeon trained at 0.7x fp32. So
/// `auto` decides from what the CPU is, never from a timing (a timing depends on what else runs, and the
/// arithmetic must not): bf16 where the CPU has AMX tiles (amx_bf16: bf16 matmul ran 2.3x fp32 on an Intel
/// Xeon) or is an AMD part with AVX512_BF16 (Zen 4 and Zen 5: 2.0x); fp32 everywhere else. `bench` keeps the
/// measurement (<see cref="GemmPeak"/>) to check the rule on a new CPU.
/// </summary>
internal static class PrecisionChoice
{
    /// <summary>The precision <paramref name="requested"/> resolves to on <paramref name="cpu"/> (this process's CPU when null).</summary>
    public static ResolvedPrecision Resolve(Precision requested, CpuInfo? cpu = null)
    {
        cpu ??= CpuInfo.Current;
        switch (requested)
        {
            case Precision.Fp32: return new(Precision.Fp32, "fp32 requested");
            case Precision.Bf16:
                return new(Precision.Bf16, cpu.NativeBf16 ? $"bf16 requested; {cpu.Bf16Reason}" : $"bf16 requested although {cpu.Bf16Reason}");
        }
        if (!cpu.NativeBf16) return new(Precision.Fp32, $"auto: {cpu.Bf16Reason}");
        if (cpu.InstructionSets.Contains("amx_bf16"))
            return new(Precision.Bf16, $"auto: {cpu.Bf16Reason}, with AMX tiles (amx_bf16), where bf16 runs faster than fp32");
        if (cpu.Generation.StartsWith("AMD ", StringComparison.Ordinal))
            return new(Precision.Bf16, $"auto: {cpu.Bf16Reason}, on an AMD CPU (Zen 4 or later), where avx512_bf16 runs at about twice the fp32 rate");
        return new(Precision.Fp32, $"auto: {cpu.Bf16Reason}, but without AMX tiles (amx_bf16) bf16 ran slower than fp32 on an Intel Xeon: fp32");
    }
}
