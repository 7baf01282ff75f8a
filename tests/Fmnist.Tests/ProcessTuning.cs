using System.Runtime.CompilerServices;

namespace Fmnist.Tests;

internal static class ProcessTuning
{
    /// <summary>The test process is tuned as the CLI's is (libtorch threads, malloc, OpenMP's passive waiting, the
    /// per-epoch GC): the library applies none of it unless asked, and the tests' expected results were measured with it.</summary>
    [ModuleInitializer]
    internal static void OptIn() => Training.TorchRuntime.InitializeOnFirstUse = true;
}
