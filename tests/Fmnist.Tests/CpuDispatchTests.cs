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
        if (!HammingSearch.Avx2Available) return; // nothing narrower to emulate
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
    public void Auto_precision_is_bf16_only_where_native_and_measured_faster()
    {
        var cpu = CpuInfo.Current;
        var auto = PrecisionChoice.Resolve(Precision.Auto, cpu);
        Assert.Equal(cpu.NativeBf16 && Bf16Probe.Current.Speedup >= Bf16Probe.MinSpeedup ? Precision.Bf16 : Precision.Fp32, auto.Used);
        Assert.StartsWith("auto:", auto.Reason);
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
    [InlineData(2.0, Precision.Bf16, "and a bf16 multiply ran at 2.00x the fp32 rate here (400 against 200 GFLOP/s)")] // Zen 4, Zen 5
    [InlineData(0.5, Precision.Fp32, "but a bf16 multiply ran at 0.50x the fp32 rate here (165 against 330 GFLOP/s), below the 1.2x")] // Intel Xeon, no AMX
    [InlineData(1.1, Precision.Fp32, "below the 1.2x bf16 must gain")]
    public void Auto_precision_on_a_native_bf16_cpu_follows_the_measured_speed(double speedup, Precision expected, string reasonPart)
    {
        var native = CpuInfo.Current with { NativeBf16 = true, Bf16Reason = "the CPU computes bf16 natively (avx512_bf16)" };
        var speed = speedup == 0.5 ? new Bf16Speed(330, 165) : new Bf16Speed(200, 200 * speedup);
        var resolved = PrecisionChoice.Resolve(Precision.Auto, native, () => speed);
        Assert.Equal(expected, resolved.Used);
        Assert.StartsWith("auto: the CPU computes bf16 natively (avx512_bf16)", resolved.Reason);
        Assert.Contains(reasonPart, resolved.Reason);
        // Explicit requests and CPUs without native bf16 never consult the measurement.
        Bf16Speed Fail() => throw new InvalidOperationException("the probe must not run");
        Assert.Equal(Precision.Bf16, PrecisionChoice.Resolve(Precision.Bf16, native, Fail).Used);
        Assert.Equal(Precision.Fp32, PrecisionChoice.Resolve(Precision.Fp32, native, Fail).Used);
        var without = native with { NativeBf16 = false, Bf16Reason = "the CPU has no native bf16" };
        Assert.Equal(Precision.Fp32, PrecisionChoice.Resolve(Precision.Auto, without, Fail).Used);
    }

    [Fact]
    public void The_bf16_probe_measures_both_precisions_where_bf16_is_native()
    {
        if (!CpuInfo.Current.NativeBf16) return; // emulated bf16 is never timed: nothing to measure
        var speed = Bf16Probe.Measure(size: 256, repetitions: 2);
        Assert.True(speed.Fp32Gflops > 0 && speed.Bf16Gflops > 0);
        Assert.Equal(speed.Bf16Gflops / speed.Fp32Gflops, speed.Speedup, 12);
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
