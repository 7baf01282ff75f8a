using System.Text.Json.Nodes;
using Fmnist.Experiments;
using Fmnist.Platform;

namespace Fmnist.Cli;

/// <summary>
/// The `machine` object of every --json record that reports a timing: one type, so that no command describes the
/// machine its own way (docs/json.md). Built from <see cref="MachineInfo"/> and <see cref="CpuInfo"/>.
/// </summary>
/// <param name="CpuGeneration">Vendor, family, model, stepping and microarchitecture, e.g. "AMD family 25 model 17 stepping 1 (Zen 4)".</param>
/// <param name="InstructionSets">The CPU's flags fmnist cares about (avx512f, avx512_bf16, amx_bf16, avx2, ...).</param>
/// <param name="DotnetVectorIsa">The vector width .NET's JIT uses here (what the KNN kernels dispatch on).</param>
/// <param name="LibtorchCapability">libtorch's kernel level (avx512, avx2, default).</param>
/// <param name="AutoPrecision">What `--precision auto` picks on this CPU (bf16 or fp32), and <paramref name="Bf16Reason"/> why.</param>
/// <param name="Threads">The threads the measured work ran on.</param>
internal sealed record MachineRecord(string Cpu, string CpuGeneration, int Cores, double MemoryGb, IReadOnlyList<string> InstructionSets,
    string DotnetVectorIsa, string LibtorchCapability, bool NativeBf16, string Bf16Reason, string AutoPrecision, int Threads, string Allocator,
    string Os, string Dotnet, string TorchSharp)
{
    public static MachineRecord Of(MachineInfo m) => new(m.Cpu, m.CpuGeneration, m.Cores, m.MemoryGb, m.InstructionSets, m.DotnetVectorIsa,
        m.LibtorchCapability, m.NativeBf16, CpuInfo.Current.Bf16Reason, Training.PrecisionChoice.Resolve(Training.Precision.Auto).Name,
        m.Threads, m.Allocator, m.Os, m.Dotnet, m.TorchSharp);

    /// <param name="threads">As <see cref="MachineInfo.Current"/>: the work's threads, libtorch's by default.</param>
    public static MachineRecord Current(int? threads = null) => Of(MachineInfo.Current(threads));
}

/// <summary>`--time-budget`'s plan, its durations in seconds as every other --json duration.</summary>
internal sealed record BudgetRecord(double BudgetSeconds, double ImagesPerSecond, int Threads, double SecondsPerEpoch, int Rounds, int Epochs, int MaxEpochs, double PlannedSeconds)
{
    public static BudgetRecord? Of(BudgetPlan? p) => p is null ? null
        : new(p.BudgetMinutes * 60, p.ImagesPerSecond, p.Threads, p.SecondsPerEpoch, p.Rounds, p.Epochs, p.MaxEpochs, p.PlannedMinutes * 60);
}

/// <summary>
/// The units rule of docs/json.md, applied to every --json object in one place: a duration is in seconds, named
/// `seconds` or `*_seconds`, a rate per second is named `*_per_second`, and both are rounded to 4 significant digits
/// (enough for a 0.1 ms latency and a 3-hour training alike; more would only print timing noise).
/// </summary>
public static class JsonUnits
{
    public const int Digits = 4;

    public static bool IsTiming(string name) => name == "seconds" || name.EndsWith("_seconds", StringComparison.Ordinal) || name.EndsWith("_per_second", StringComparison.Ordinal);

    public static double Round(double value)
    {
        if (value == 0 || !double.IsFinite(value)) return value;
        int shift = Digits - 1 - (int)Math.Floor(Math.Log10(Math.Abs(value)));
        // Divide or multiply by an exact power of ten, so 0.0003123 and 123500 print as written.
        if (shift >= 0)
        {
            double p = Math.Pow(10, shift);
            return Math.Round(value * p) / p;
        }
        double q = Math.Pow(10, -shift);
        return Math.Round(value / q) * q;
    }

    /// <summary>Rounds every timing field in the tree (nested records and arrays included), in place.</summary>
    public static void Normalize(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o.ToList())
                {
                    if (IsTiming(key) && value is JsonValue v && v.TryGetValue(out double d)) o[key] = JsonValue.Create(Round(d));
                    else Normalize(value);
                }
                break;
            case JsonArray a:
                foreach (var e in a) Normalize(e);
                break;
        }
    }
}
