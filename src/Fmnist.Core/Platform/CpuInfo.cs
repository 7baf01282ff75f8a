using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Fmnist.Platform;

/// <summary>
/// What the processor offers and what each library will actually use of it. Three layers can differ:
/// the hardware (<c>/proc/cpuinfo</c> flags), .NET's intrinsics (switched off by <c>DOTNET_EnableAVX512=0</c>
/// and friends), and libtorch's kernels (capped by <c>ATEN_CPU_CAPABILITY</c> for ATen and
/// <c>ONEDNN_MAX_CPU_ISA</c> for oneDNN, which runs bf16 convolutions and matrix multiplies). Decisions
/// (the KNN kernel, bf16 or fp32) follow the layer that executes them, so the same environment knobs
/// that emulate an older CPU also change fmnist's choices.
/// </summary>
internal sealed record CpuInfo(string Model, IReadOnlyList<string> InstructionSets, string DotnetVector, string TorchCapability,
    bool NativeBf16, string Bf16Reason)
{
    /// <summary>Vendor, family, model and stepping as /proc/cpuinfo gives them, with the microarchitecture
    /// where fmnist knows it, e.g. "AMD family 26 model 2 stepping 1 (Zen 5)": virtual machines often
    /// name every AMD part just "AMD EPYC", and the generation is what the speed depends on.</summary>
    public string Generation { get; init; } = "";

    /// <summary>The flags fmnist cares about, in the order they are reported.</summary>
    private static readonly string[] Interesting =
        ["avx512f", "avx512bw", "avx512vl", "avx512_vpopcntdq", "avx512_bf16", "amx_bf16", "avx2", "fma", "bmi2", "popcnt", "asimd", "bf16"];

    private static readonly Lazy<CpuInfo> Lazy = new(() => Detect(Environment.GetEnvironmentVariable));

    /// <summary>This process's CPU, read once.</summary>
    public static CpuInfo Current => Lazy.Value;

    /// <summary>Reads the CPU with the given environment lookup (tests pass their own to emulate caps).</summary>
    public static CpuInfo Detect(Func<string, string?> env)
    {
        var (model, flags, ids) = ReadProcCpuinfo();
        var isa = Interesting.Where(flags.Contains).ToList();
        if (isa.Count == 0) isa = DotnetFlags(); // not Linux: what .NET reports is all we know
        string torch = TorchCapabilityOf(flags, env("ATEN_CPU_CAPABILITY"));
        var (bf16, reason) = Bf16Of(flags, env("ONEDNN_MAX_CPU_ISA") ?? env("DNNL_MAX_CPU_ISA"));
        return new CpuInfo(model, isa, DotnetVectorIsa(), torch, bf16, reason) { Generation = GenerationOf(ids) };
    }

    /// <summary>"AMD family 25 model 17 stepping 1 (Zen 4)" from the /proc/cpuinfo fields; "" where there are none.</summary>
    public static string GenerationOf(IReadOnlyDictionary<string, string> ids)
    {
        if (!ids.TryGetValue("vendor_id", out var vendor) || !ids.TryGetValue("cpu family", out var familyText)
            || !int.TryParse(familyText, out int family)) return "";
        int model = ids.TryGetValue("model", out var m) && int.TryParse(m, out int mm) ? mm : -1;
        string name = vendor switch { "AuthenticAMD" => "AMD", "GenuineIntel" => "Intel", _ => vendor };
        string text = $"{name} family {family}" + (model >= 0 ? $" model {model}" : "")
            + (ids.TryGetValue("stepping", out var st) ? $" stepping {st}" : "");
        string? arch = vendor switch
        {
            "AuthenticAMD" => AmdMicroarchitecture(family, model),
            "GenuineIntel" => IntelMicroarchitecture(family, model),
            _ => null,
        };
        return arch is null ? text : $"{text} ({arch})";
    }

    /// <summary>AMD's family/model ranges (AMD's processor programming references): family 23 Zen to Zen 2,
    /// 25 Zen 3 and Zen 4 by model range, 26 Zen 5.</summary>
    private static string? AmdMicroarchitecture(int family, int model) => family switch
    {
        23 => model < 0x30 ? "Zen or Zen+" : "Zen 2",
        25 => model switch
        {
            >= 0x00 and <= 0x0F or >= 0x20 and <= 0x5F => "Zen 3",
            >= 0x10 and <= 0x1F or >= 0x60 and <= 0x7F or >= 0xA0 and <= 0xAF => "Zen 4",
            _ => null,
        },
        26 => "Zen 5",
        _ => null,
    };

    /// <summary>Intel's family 6 server and recent client models (Intel's model numbers as Linux's
    /// <c>intel-family.h</c> lists them): the parts whose AVX-512 and bf16 differ in speed.</summary>
    private static string? IntelMicroarchitecture(int family, int model) => family != 6 ? null : model switch
    {
        0x55 => "Skylake-SP or Cascade Lake",
        0x6A or 0x6C => "Ice Lake-SP",
        0x8F => "Sapphire Rapids",
        0xCF => "Emerald Rapids",
        0xAD or 0xAE => "Granite Rapids",
        0x8C or 0x8D => "Tiger Lake",
        0x97 or 0x9A => "Alder Lake",
        0xB7 or 0xBA or 0xBF => "Raptor Lake",
        _ => null,
    };

    /// <summary>The widest vector instruction set .NET's JIT will use in this process.</summary>
    public static string DotnetVectorIsa() =>
        Avx512BW.IsSupported && Avx512F.IsSupported ? "avx512" :
        Avx2.IsSupported ? "avx2" :
        AdvSimd.IsSupported ? "neon" : "scalar";

    /// <summary>One line for logs and benchmark headers.</summary>
    public string Describe() =>
        $"{Model}{(Generation.Length > 0 ? $" [{Generation}]" : "")}; {string.Join(' ', InstructionSets)}; .NET vectors {DotnetVector}, libtorch {TorchCapability}, bf16 {(NativeBf16 ? "native" : "not native")}";

    private static string TorchCapabilityOf(HashSet<string> flags, string? cap)
    {
        string hw = flags.Contains("avx512f") && flags.Contains("avx512bw") && flags.Contains("avx512vl") ? "avx512"
            : flags.Contains("avx2") && flags.Contains("fma") ? "avx2"
            : RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "neon" : "default";
        // ATen takes the lower of the hardware and the requested capability.
        return (cap?.Trim().ToLowerInvariant(), hw) switch
        {
            ("default", _) => "default",
            ("avx2", "avx512") => "avx2",
            _ => hw,
        };
    }

    /// <summary>
    /// bf16 is worth using only where the CPU computes it natively (AVX512_BF16 or AMX-BF16) and oneDNN is
    /// allowed to use those instructions (its convolutions and matrix multiplies run in oneDNN); elsewhere
    /// libtorch emulates it, measured 15-300x slower than fp32 on an AVX2-only CPU.
    /// </summary>
    private static (bool, string) Bf16Of(HashSet<string> flags, string? onednnCap)
    {
        string? hw = flags.Contains("amx_bf16") ? "amx_bf16" : flags.Contains("avx512_bf16") ? "avx512_bf16" : null;
        if (hw is null)
            return (false, "the CPU has no native bf16 (neither avx512_bf16 nor amx_bf16): bf16 would be emulated, many times slower than fp32");
        if (onednnCap is { Length: > 0 } cap && !CapAllowsBf16(cap))
            return (false, $"ONEDNN_MAX_CPU_ISA={cap} keeps oneDNN below {hw}: bf16 would be emulated");
        return (true, $"the CPU computes bf16 natively ({hw})");
    }

    /// <summary>oneDNN's ISA names that include bf16 arithmetic (AVX512_CORE_BF16 and everything above it).</summary>
    private static bool CapAllowsBf16(string cap) => cap.Trim().ToUpperInvariant() switch
    {
        "AVX512_CORE_BF16" or "AVX512_CORE_FP16" or "AVX512_CORE_AMX" or "AVX512_CORE_AMX_FP16" or "AVX10_1_512"
            or "AVX10_1_512_AMX" or "AVX10_1_512_AMX_FP16" or "AVX10_2_512" or "AVX10_2_512_AMX_2" or "ALL" or "DEFAULT" => true,
        _ => false,
    };

    private static (string Model, HashSet<string> Flags, Dictionary<string, string> Ids) ReadProcCpuinfo()
    {
        string model = RuntimeInformation.ProcessArchitecture.ToString();
        var flags = new HashSet<string>(StringComparer.Ordinal);
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                int colon = line.IndexOf(':');
                if (colon < 0) continue;
                string key = line[..colon].Trim(), value = line[(colon + 1)..].Trim();
                if (key is "model name" or "Model" && model == RuntimeInformation.ProcessArchitecture.ToString()) model = value;
                else if (key is "flags" or "Features" && flags.Count == 0) flags.UnionWith(value.Split(' ', StringSplitOptions.RemoveEmptyEntries));
                else if (key is "vendor_id" or "cpu family" or "model" or "stepping") ids.TryAdd(key, value);
                if (line.Length == 0 && flags.Count > 0) break; // the first processor says it all
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return (model, flags, ids);
    }

    private static List<string> DotnetFlags()
    {
        var list = new List<string>();
        if (Avx512F.IsSupported) list.Add("avx512f");
        if (Avx512BW.IsSupported) list.Add("avx512bw");
        if (Avx2.IsSupported) list.Add("avx2");
        if (Fma.IsSupported) list.Add("fma");
        if (Popcnt.IsSupported) list.Add("popcnt");
        if (AdvSimd.IsSupported) list.Add("asimd");
        return list;
    }
}
