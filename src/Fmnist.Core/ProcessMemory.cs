using System.Diagnostics;

namespace Fmnist;

/// <summary>This process's resident memory, in MB, for benchmarks, epoch lines and reports.</summary>
internal static class ProcessMemory
{
    public static double ResidentMb()
    {
        using var self = Process.GetCurrentProcess();
        return Math.Round(self.WorkingSet64 / (1024.0 * 1024.0), 1);
    }

    public static double PeakMb()
    {
        using var self = Process.GetCurrentProcess();
        return Math.Round(self.PeakWorkingSet64 / (1024.0 * 1024.0), 1);
    }
}
