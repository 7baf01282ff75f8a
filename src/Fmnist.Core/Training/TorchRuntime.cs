using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Fmnist.Training;

/// <summary>
/// One-time libtorch set-up, before the first tensor. OpenMP reads OMP_WAIT_POLICY when libtorch
/// loads, and .NET's Environment.SetEnvironmentVariable does not reach the native environment, so
/// it is set through libc. PASSIVE stops idle OpenMP threads from spinning: measured here, spinning
/// threads made a training step several times slower whenever another process wanted a core.
/// </summary>
public static class TorchRuntime
{
    private static readonly Lock Gate = new();
    private static bool _done;

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv(string name, string value, int overwrite);

    public static void Initialize(int? threads = null)
    {
        lock (Gate)
        {
            if (_done) return;
            if (OperatingSystem.IsLinux()) SetEnv("OMP_WAIT_POLICY", "PASSIVE", 0);
            set_num_threads(threads ?? Environment.ProcessorCount);
            _done = true;
        }
    }

    public static string TorchSharpVersion => typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString() ?? "unknown";
}
