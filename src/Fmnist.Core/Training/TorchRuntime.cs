using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Fmnist.Training;

/// <summary>
/// One-time process set-up for training, before the first tensor: opt-in, because it changes process-wide
/// settings (the native environment, malloc, libtorch's thread count, and a full compacting GC after every
/// training epoch) that belong to the application. The CLI opts in (<see cref="InitializeOnFirstUse"/>); a library
/// user asks with <see cref="Experiments.TrainingWorkflow.TuneProcess"/>, and otherwise gets libtorch's and .NET's defaults.
/// <para>Memory: libtorch's CPU allocator uses malloc. glibc serves blocks above its mmap threshold
/// (128 KB at start) with fresh mmap/munmap, so every 25 MB activation of a training step was new,
/// zero-filled, page-faulted memory: measured here, most of a step's time went to the kernel
/// (380 images/s). Raising the threshold to glibc's maximum (32 MB) and not trimming the heap makes
/// freed activations get reused: 1,300+ images/s, same results.</para>
/// <para>Better still is a caching allocator: the <c>./fmnist</c> launcher preloads tcmalloc when it can
/// (1,090-1,284 vs 1,060-1,139 images/s in <c>bench train</c>; 560-580 MB resident there and 615-760 MB in
/// full training runs, instead of 0.85-1.6 GB). Under a
/// preloaded allocator the glibc settings are skipped: <see cref="Allocator"/> says which one runs.</para>
/// <para>Threads: OpenMP reads OMP_WAIT_POLICY when libtorch loads, and .NET's
/// Environment.SetEnvironmentVariable does not reach the native environment, so it is set through
/// libc. PASSIVE stops idle OpenMP threads from spinning, which made steps several times slower
/// whenever another process wanted a core.</para>
/// </summary>
internal static class TorchRuntime
{
    private static readonly Lock Gate = new();
    private static bool _done;

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv(string name, string value, int overwrite);

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int MallOpt(int param, int value);

    private const int M_TRIM_THRESHOLD = -1, M_TOP_PAD = -2, M_MMAP_THRESHOLD = -3;

    /// <summary>The malloc in use: "tcmalloc" or "jemalloc" when preloaded, else "glibc" (tuned as above).</summary>
    public static string Allocator { get; } = DetectAllocator();

    private static string DetectAllocator()
    {
        try
        {
            if (!OperatingSystem.IsLinux()) return "system";
            var maps = File.ReadAllText("/proc/self/maps");
            if (maps.Contains("libtcmalloc", StringComparison.Ordinal)) return "tcmalloc";
            if (maps.Contains("libjemalloc", StringComparison.Ordinal)) return "jemalloc";
            return "glibc";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static void TuneMalloc()
    {
        if (Allocator != "glibc") return;
        try
        {
            MallOpt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
            MallOpt(M_TRIM_THRESHOLD, 512 * 1024 * 1024); // above a step's working set: 128 MB fell back to ~520 images/s
            MallOpt(M_TOP_PAD, 64 * 1024 * 1024);
        }
        catch (EntryPointNotFoundException)
        {
            // not glibc: its allocator has its own policy
        }
    }

    /// <summary>Applies the set-up now (once per process; the first call's <paramref name="threads"/> wins).</summary>
    /// <param name="threads">libtorch's intra-op threads; null = every core.</param>
    public static void Initialize(int? threads = null)
    {
        lock (Gate)
        {
            if (_done) return;
            if (OperatingSystem.IsLinux())
            {
                SetEnv("OMP_WAIT_POLICY", "PASSIVE", 0);
                TuneMalloc();
            }
            set_num_threads(threads ?? Environment.ProcessorCount);
            _done = true;
        }
    }

    /// <summary>Set by a host that owns its process (the CLI, the tests): the library then applies
    /// <see cref="Initialize"/> itself before its first libtorch use (<see cref="BeforeFirstUse"/>), so commands
    /// that never touch libtorch (knn, data) do not load it.</summary>
    public static bool InitializeOnFirstUse { get; set; }

    /// <summary>True once <see cref="Initialize"/> ran: the process asked to be tuned, which includes the
    /// per-epoch full GC in <see cref="Trainer"/>.</summary>
    public static bool Initialized
    {
        get
        {
            lock (Gate) return _done;
        }
    }

    /// <summary>Where the library is about to use libtorch: applies the set-up when the host opted in, and
    /// otherwise changes nothing.</summary>
    public static void BeforeFirstUse()
    {
        if (InitializeOnFirstUse) Initialize();
    }

    /// <summary>libtorch's intra-op threads (what training and inference use).</summary>
    public static int Threads
    {
        get
        {
            BeforeFirstUse();
            return get_num_threads();
        }
    }

    public static string TorchSharpVersion => typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString() ?? "unknown";
}
