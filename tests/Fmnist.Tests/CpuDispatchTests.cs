using System.Text.Json;
using Fmnist.Models.Knn;
using Fmnist.Platform;
using Fmnist.Training;

namespace Fmnist.Tests;

/// <summary>
/// Kernel and precision choice on CPUs with and without AVX-512 and bf16, the second by emulation: .NET's
/// DOTNET_EnableAVX512=0 (read when the runtime starts, so in a child process) and oneDNN's ONEDNN_MAX_CPU_ISA.
/// </summary>
public class CpuDispatchTests
{
    private static Dictionary<string, string> NoAvx512 => new() { ["DOTNET_EnableAVX512"] = "0" };

    private static JsonElement KnnJson(Dictionary<string, string>? env, params string[] extra)
    {
        var (code, stdout, stderr) = CliProcess.Run(env, ["knn", "--train-limit", "700", "--test-limit", "40", "--k", "1,5", "--json", .. extra]);
        Assert.True(code == 0, stderr);
        return JsonDocument.Parse(stdout).RootElement;
    }

    [Fact]
    public void Auto_takes_the_widest_kernel_and_without_avx512_the_avx2_one_with_the_same_answers()
    {
        var native = KnnJson(null);
        string expected = HammingSearch.Supported[0] == SearchKernel.Avx512 ? "avx512" : HammingSearch.Avx2Available ? "avx2" : "scalar";
        Assert.Equal(expected, native.GetProperty("kernel").GetString());
    }

    /// <summary>Skips, saying why, on a CPU without AVX2: there is no narrower vector kernel to emulate there.</summary>
    public sealed class Avx2FactAttribute : FactAttribute
    {
        public Avx2FactAttribute()
        {
            if (!HammingSearch.Avx2Available) Skip = "this CPU has no AVX2: no vector kernel narrower than its own to compare";
        }
    }

    [Avx2Fact]
    public void Without_avx512_the_avx2_kernel_gives_the_same_answers()
    {
        var native = KnnJson(null);
        var emulated = KnnJson(NoAvx512);
        Assert.Equal("avx2", emulated.GetProperty("kernel").GetString());
        Assert.Equal(native.GetProperty("results").GetRawText(), emulated.GetProperty("results").GetRawText());
    }

    [Fact]
    public void A_forced_kernel_the_cpu_lacks_is_a_one_line_error()
    {
        var (code, stdout, stderr) = CliProcess.Run(NoAvx512, "knn", "--train-limit", "100", "--test-limit", "10", "--kernel", "avx512");
        Assert.NotEqual(0, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains("avx512", line);
        Assert.Contains("not available", line);
    }

    [Fact]
    public void Scalar_kernel_can_be_forced_and_says_so()
    {
        Assert.Equal("scalar", KnnJson(null, "--kernel", "scalar").GetProperty("kernel").GetString());
    }

    [Fact]
    public void Auto_precision_is_bf16_only_where_native()
    {
        var cpu = CpuInfo.Current;
        var auto = PrecisionChoice.Resolve(Precision.Auto, cpu);
        if (!cpu.NativeBf16) Assert.Equal(Precision.Fp32, auto.Used);
        Assert.StartsWith("auto:", auto.Reason);
        Assert.DoesNotContain("GFLOP", auto.Reason); // decided by what the CPU is, never by a timing
        // The same CPU with oneDNN capped at AVX2 (the Zen 3 profile) must train in fp32.
        var capped = CpuInfo.Detect(name => name == "ONEDNN_MAX_CPU_ISA" ? "AVX2" : null);
        Assert.False(capped.NativeBf16);
        Assert.Equal(Precision.Fp32, PrecisionChoice.Resolve(Precision.Auto, capped).Used);
        Assert.Contains(cpu.NativeBf16 ? "ONEDNN_MAX_CPU_ISA=AVX2" : "no native bf16", capped.Bf16Reason);
        // Explicit requests are honoured, with the reason stated.
        Assert.Equal(Precision.Bf16, PrecisionChoice.Resolve(Precision.Bf16, capped).Used);
        Assert.Equal(Precision.Fp32, PrecisionChoice.Resolve(Precision.Fp32, cpu).Used);
        Assert.True(CpuInfo.Detect(n => n == "ONEDNN_MAX_CPU_ISA" ? "AVX512_CORE_AMX" : null).NativeBf16 == cpu.NativeBf16);
    }

    [Theory]
    [InlineData("AMD family 25 model 17 stepping 1 (Zen 4)", "avx512_bf16", Precision.Bf16, "AMD CPU")]
    [InlineData("AMD family 26 model 2 stepping 1 (Zen 5)", "avx512_bf16", Precision.Bf16, "AMD CPU")]
    [InlineData("Intel family 6 model 207 stepping 2 (Emerald Rapids)", "avx512_bf16 amx_bf16", Precision.Bf16, "AMX tiles")]
    [InlineData("Intel family 6 model 207 stepping 2 (Emerald Rapids)", "avx512_bf16", Precision.Fp32, "without AMX tiles")]
    public void Auto_precision_on_a_native_bf16_cpu_follows_what_the_cpu_is(string generation, string flags, Precision expected, string reasonPart)
    {
        var native = CpuInfo.Current with
        {
            NativeBf16 = true, Bf16Reason = "the CPU computes bf16 natively", Generation = generation,
            InstructionSets = [.. flags.Split(' '), "avx512f"],
        };
        var resolved = PrecisionChoice.Resolve(Precision.Auto, native);
        Assert.Equal(expected, resolved.Used);
        Assert.StartsWith("auto: the CPU computes bf16 natively", resolved.Reason);
        Assert.Contains(reasonPart, resolved.Reason);
        Assert.Equal(resolved, PrecisionChoice.Resolve(Precision.Auto, native)); // nothing measured, nothing varies
        var without = native with { NativeBf16 = false, Bf16Reason = "the CPU has no native bf16" };
        Assert.Equal(Precision.Fp32, PrecisionChoice.Resolve(Precision.Auto, without).Used);
    }

    [Theory]
    [InlineData("AuthenticAMD", "25", "1", "1", "AMD family 25 model 1 stepping 1 (Zen 3)")]
    [InlineData("AuthenticAMD", "25", "17", "1", "AMD family 25 model 17 stepping 1 (Zen 4)")]
    [InlineData("AuthenticAMD", "25", "160", "2", "AMD family 25 model 160 stepping 2 (Zen 4)")]
    [InlineData("AuthenticAMD", "26", "2", "1", "AMD family 26 model 2 stepping 1 (Zen 5)")]
    [InlineData("AuthenticAMD", "23", "49", "0", "AMD family 23 model 49 stepping 0 (Zen 2)")]
    [InlineData("GenuineIntel", "6", "143", "8", "Intel family 6 model 143 stepping 8 (Sapphire Rapids)")]
    [InlineData("GenuineIntel", "6", "207", "2", "Intel family 6 model 207 stepping 2 (Emerald Rapids)")]
    [InlineData("GenuineIntel", "6", "42", "7", "Intel family 6 model 42 stepping 7")]
    public void Cpu_generation_names_vendor_family_model_and_known_microarchitecture(string vendor, string family, string model, string stepping, string expected)
    {
        var ids = new Dictionary<string, string> { ["vendor_id"] = vendor, ["cpu family"] = family, ["model"] = model, ["stepping"] = stepping };
        Assert.Equal(expected, CpuInfo.GenerationOf(ids));
        Assert.Equal("", CpuInfo.GenerationOf(new Dictionary<string, string>()));
    }

    [Fact]
    public void Dotnet_vector_isa_follows_the_runtime_switch()
    {
        var (code, stdout, stderr) = CliProcess.Run(NoAvx512, "bench", "knn", "--help");
        Assert.True(code == 0, stderr);
        // The --kernel help names the kernel auto would take in that process.
        Assert.Contains(HammingSearch.Avx2Available ? "(here: avx2)" : "(here: scalar)", stdout);
    }
}
