using System.Reflection;
using System.Runtime.InteropServices;

namespace Fmnist.Platform;

/// <summary>
/// What `fmnist --version` reports: this library, the native runtimes it loads, .NET and the CPU. A
/// runtime that fails to load is reported, not thrown: the report is what one reads to find out why.
/// </summary>
/// <param name="Fmnist">The informational version: package version plus the commit it was built from.</param>
/// <param name="TorchSharp">The managed TorchSharp assembly's version.</param>
/// <param name="Libtorch">libtorch's own version string (torch.__version__), or why it did not load.</param>
/// <param name="OnnxRuntime">ONNX Runtime's native version, or why it did not load.</param>
/// <param name="Dotnet">The .NET runtime, e.g. ".NET 10.0.12".</param>
/// <param name="Runtime">The runtime identifier the process runs as, e.g. "linux-x64".</param>
/// <param name="Os">The operating system's description.</param>
/// <param name="Allocator">The malloc libtorch runs on: tcmalloc or jemalloc when preloaded, else glibc (tuned when
/// the process asked for it: <see cref="Experiments.TrainingWorkflow.TuneProcess"/>).</param>
public sealed record VersionReport(string Fmnist, string TorchSharp, string Libtorch, string OnnxRuntime, string Dotnet,
    string Runtime, string Os, string Allocator)
{
    /// <summary>The CPU: model, instruction sets, and which of them .NET and libtorch use. Internal (CpuInfo is
    /// not part of the library's API); <see cref="Lines"/> describes it and `version --json` writes it last.</summary>
    [System.Text.Json.Serialization.JsonInclude, System.Text.Json.Serialization.JsonPropertyOrder(1)]
    internal CpuInfo Cpu { get; init; } = CpuInfo.Current;

    /// <summary>Collects the report; loads libtorch and ONNX Runtime (a few hundred milliseconds).</summary>
    public static VersionReport Collect() => new(
        FmnistVersion,
        Training.TorchRuntime.TorchSharpVersion,
        Probe(() =>
        {
            Training.TorchRuntime.BeforeFirstUse(); // before the first libtorch call, so its thread settings hold
            return global::TorchSharp.torch.__version__;
        }),
        Probe(() => Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString()),
        RuntimeInformation.FrameworkDescription,
        RuntimeInformation.RuntimeIdentifier,
        RuntimeInformation.OSDescription,
        Training.TorchRuntime.Allocator);

    /// <summary>This assembly's informational version, the commit shortened to 7 characters.</summary>
    public static string FmnistVersion { get; } = ShortVersion(
        typeof(VersionReport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown");

    private static string ShortVersion(string v) => v.IndexOf('+') is int plus and > 0 && v.Length > plus + 8 ? v[..(plus + 8)] : v;

    private static string Probe(Func<string> get)
    {
        try
        {
            return get();
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or BadImageFormatException or NotSupportedException)
        {
            var inner = e.InnerException ?? e;
            return $"not loaded ({inner.GetType().Name}: {inner.Message.ReplaceLineEndings(" ").Trim()})";
        }
    }

    /// <summary>The report as the lines `fmnist --version` prints.</summary>
    public IReadOnlyList<string> Lines() =>
    [
        $"fmnist {Fmnist}",
        $"TorchSharp {TorchSharp}, libtorch {Libtorch}",
        $"ONNX Runtime {OnnxRuntime}",
        $"{Dotnet} ({Runtime}), {Os}; allocator {Allocator}",
        $"CPU: {Cpu.Describe()}",
    ];
}
