using System.Runtime.InteropServices;
using Fmnist.Platform;

namespace Fmnist.Experiments;

/// <summary>The machine a result was measured on: written beside every benchmark, training run and report.</summary>
internal sealed record MachineInfo(string Cpu, int Cores, double MemoryGb, string Os, string Dotnet, string TorchSharp)
{
    /// <summary>Vendor, family, model and microarchitecture (<see cref="CpuInfo.Generation"/>).</summary>
    public string CpuGeneration { get; init; } = "";
    public IReadOnlyList<string> InstructionSets { get; init; } = [];
    /// <summary>The vector width .NET's JIT uses here (avx512, avx2, neon or scalar): what the KNN kernels dispatch on.</summary>
    public string DotnetVectorIsa { get; init; } = "";
    /// <summary>libtorch's kernel level (avx512, avx2, default), lowered by ATEN_CPU_CAPABILITY.</summary>
    public string LibtorchCapability { get; init; } = "";
    public bool NativeBf16 { get; init; }
    public int Threads { get; init; }
    public string Allocator { get; init; } = "";

    /// <param name="threads">The threads the measured work uses; by default libtorch's (which loads libtorch).
    /// The KNN, which never touches libtorch, passes its own.</param>
    public static MachineInfo Current(int? threads = null)
    {
        double memory = 0;
        try
        {
            var total = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal", StringComparison.Ordinal));
            if (total is not null) memory = double.Parse(total.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024 / 1024;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        var cpu = CpuInfo.Current;
        return new MachineInfo(cpu.Model, Environment.ProcessorCount, Math.Round(memory, 1), RuntimeInformation.OSDescription,
            Environment.Version.ToString(), Training.TorchRuntime.TorchSharpVersion)
        {
            CpuGeneration = cpu.Generation,
            InstructionSets = cpu.InstructionSets,
            DotnetVectorIsa = cpu.DotnetVector,
            LibtorchCapability = cpu.TorchCapability,
            NativeBf16 = cpu.NativeBf16,
            Threads = threads ?? Training.TorchRuntime.Threads,
            Allocator = Training.TorchRuntime.Allocator,
        };
    }

    /// <summary>The `machine` object of every --json output.</summary>
    public object ToJson() => new
    {
        cpu = Cpu,
        cpu_generation = CpuGeneration,
        cores = Cores,
        memory_gb = MemoryGb,
        instruction_sets = InstructionSets,
        dotnet_vector_isa = DotnetVectorIsa,
        libtorch_capability = LibtorchCapability,
        native_bf16 = NativeBf16,
        threads = Threads,
        allocator = Allocator,
    };

    public override string ToString()
    {
        var isa = InstructionSets.Count > 0 ? $" ({string.Join(' ', InstructionSets)}; bf16 {(NativeBf16 ? "native" : "not native")})" : "";
        var generation = CpuGeneration.Length > 0 ? $" [{CpuGeneration}]" : "";
        return $"{Cpu}{generation}, {Cores} cores, {MemoryGb:F0} GiB{isa}; {Os}; .NET {Dotnet}; TorchSharp {TorchSharp}";
    }
}
