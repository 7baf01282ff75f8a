using System.Runtime.InteropServices;

namespace Fmnist.Experiments;

public sealed record MachineInfo(string Cpu, int Cores, double MemoryGb, string Os, string Dotnet, string TorchSharp)
{
    public static MachineInfo Current()
    {
        string cpu = RuntimeInformation.ProcessArchitecture.ToString();
        double memory = 0;
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
            var total = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal", StringComparison.Ordinal));
            if (total is not null) memory = double.Parse(total.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024 / 1024;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return new MachineInfo(cpu, Environment.ProcessorCount, Math.Round(memory, 1), RuntimeInformation.OSDescription,
            Environment.Version.ToString(), Training.TorchRuntime.TorchSharpVersion);
    }

    public override string ToString() => $"{Cpu}, {Cores} cores, {MemoryGb:F0} GiB; {Os}; .NET {Dotnet}; TorchSharp {TorchSharp}";
}
