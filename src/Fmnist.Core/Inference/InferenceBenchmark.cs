using System.Diagnostics;
using Fmnist.Data;

namespace Fmnist.Inference;

/// <summary>One runtime's figures. Throughput counts whole calls on raw bytes (conversion, normalization, softmax included).</summary>
internal sealed record InferenceSpeed(string Runtime, double Batch1ImagesPerSecond, double Batch256ImagesPerSecond, double P50Ms, double P99Ms,
    int SingleCalls, int Batches);

internal sealed record InferenceBenchmarkResult(string Model, string? OnnxFile, IReadOnlyList<InferenceSpeed> Runtimes, int Threads,
    string Allocator, double PeakRssMb);

/// <summary>
/// Inference speed of the same model in each runtime, measured the same way through <see cref="IClassifier"/>:
/// single-image calls (latency percentiles; batch-1 throughput is calls per second) and batches of 256.
/// Each runtime gets warm-up calls first; they run one after another, never at once.
/// </summary>
internal static class InferenceBenchmark
{
    public const int BatchSize = 256;

    /// <param name="model">A run folder (TorchSharp, plus ONNX Runtime on an export of it) or an .onnx file (ONNX Runtime only).</param>
    /// <param name="images">Real images, raw bytes; at least one batch's worth is cycled through.</param>
    public static InferenceBenchmarkResult Run(string model, byte[] images, int singleCalls = 500, int batches = 20, int? threads = null, bool spinning = false,
        Microsoft.ML.OnnxRuntime.GraphOptimizationLevel optimization = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL)
    {
        if (singleCalls < 10 || batches < 1) throw new FmnistException($"bench infer needs at least 10 single calls and 1 batch (got {singleCalls}, {batches})");
        if (images.Length < BatchSize * ImageShape.Pixels) throw new FmnistException($"bench infer needs at least {BatchSize} images");
        var rows = new List<InferenceSpeed>();
        string? onnxPath = model;
        string? tempDir = null;
        try
        {
            if (!Classifiers.IsOnnxFile(model))
            {
                using (var torch = new TorchClassifier(model)) rows.Add(Measure("torchsharp", torch, images, singleCalls, batches));
                tempDir = Path.Combine(Path.GetTempPath(), $"fmnist-bench-{Guid.NewGuid():N}");
                Directory.CreateDirectory(tempDir);
                onnxPath = Export.OnnxExporter.Export(model, Path.Combine(tempDir, "model.onnx")).File;
            }
            else onnxPath = model;
            using (var onnx = new OnnxClassifier(onnxPath, threads, spinning, optimization)) rows.Add(Measure("onnxruntime", onnx, images, singleCalls, batches));
        }
        finally
        {
            if (tempDir is not null) Directory.Delete(tempDir, recursive: true);
        }
        return new InferenceBenchmarkResult(model, tempDir is null ? onnxPath : null, rows, threads ?? Environment.ProcessorCount,
            Training.TorchRuntime.Allocator, ProcessMemory.PeakMb());
    }

    public static InferenceSpeed Measure(string runtime, IClassifier model, byte[] images, int singleCalls, int batches)
    {
        int pixels = ImageShape.Pixels, available = images.Length / pixels;
        byte[] Single(int i) => images.AsSpan(i % available * pixels, pixels).ToArray();
        var singles = Enumerable.Range(0, Math.Min(available, 256)).Select(Single).ToArray();
        var batch = images.AsSpan(0, BatchSize * pixels).ToArray();

        for (int i = 0; i < 20; i++) model.Probabilities(singles[i % singles.Length]);
        var latencies = new double[singleCalls];
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < singleCalls; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            model.Probabilities(singles[i % singles.Length]);
            latencies[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        double singleSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        Array.Sort(latencies);

        for (int i = 0; i < 2; i++) model.Probabilities(batch);
        start = Stopwatch.GetTimestamp();
        for (int i = 0; i < batches; i++) model.Probabilities(batch);
        double batchSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;

        return new InferenceSpeed(runtime, singleCalls / singleSeconds, batches * BatchSize / batchSeconds,
            Percentile(latencies, 0.50), Percentile(latencies, 0.99), singleCalls, batches);
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static double Percentile(double[] sorted, double q) =>
        sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
}
