using System.Text.Json.Nodes;
using Fmnist.Experiments;
using Fmnist.Platform;

namespace Fmnist.Cli;

/// <summary>
/// The `machine` object of every --json record that reports a timing: one type, so that no command describes the
/// machine its own way (docs/json.md). Built from <see cref="MachineInfo"/> and <see cref="CpuInfo"/>.
/// </summary>
/// <param name="CpuGeneration">Vendor, family, model, stepping and microarchitecture, e.g. "AMD family 25 model 17 stepping 1 (Zen 4)".</param>
/// <param name="InstructionSets">The CPU's flags fmnist cares about (avx512f, avx512_bf16, amx_bf16, avx2, ...).</param>
/// <param name="DotnetVectorIsa">The vector width .NET's JIT uses here (what the KNN kernels dispatch on).</param>
/// <param name="LibtorchCapability">libtorch's kernel level (avx512, avx2, default).</param>
/// <param name="AutoPrecision">What `--precision auto` picks on this CPU (bf16 or fp32), and <paramref name="Bf16Reason"/> why.</param>
/// <param name="Threads">The threads the measured work ran on.</param>
internal sealed record MachineRecord(string Cpu, string CpuGeneration, int Cores, double MemoryGb, IReadOnlyList<string> InstructionSets,
    string DotnetVectorIsa, string LibtorchCapability, bool NativeBf16, string Bf16Reason, string AutoPrecision, int Threads, string Allocator,
    string Os, string Dotnet, string TorchSharp)
{
    public static MachineRecord Of(MachineInfo m) => new(m.Cpu, m.CpuGeneration, m.Cores, m.MemoryGb, m.InstructionSets, m.DotnetVectorIsa,
        m.LibtorchCapability, m.NativeBf16, CpuInfo.Current.Bf16Reason, Training.PrecisionChoice.Resolve(Training.Precision.Auto).Name,
        m.Threads, m.Allocator, m.Os, m.Dotnet, m.TorchSharp);

    /// <param name="threads">As <see cref="MachineInfo.Current"/>: the work's threads, libtorch's by default.</param>
    public static MachineRecord Current(int? threads = null) => Of(MachineInfo.Current(threads));
}

/// <summary>The `gemm_peak` object of the benchmarks: this machine's measured matrix-multiply rates (GFLOP/s, 1 decimal).</summary>
internal sealed record GemmPeakRecord(int Size, int Threads, double Fp32Gflops, double? Bf16Gflops, double Fp32MatmulGflops, double Fp32ConvGflops,
    double? Bf16MatmulGflops, double? Bf16ConvGflops)
{
    public static GemmPeakRecord Of(Platform.GemmPeakResult p)
    {
        static double? R(double? v) => v is { } x ? Math.Round(x, 1) : null;
        return new(p.Size, p.Threads, Math.Round(p.Fp32Gflops, 1), R(p.Bf16Gflops), Math.Round(p.Fp32MatmulGflops, 1), Math.Round(p.Fp32ConvGflops, 1),
            R(p.Bf16MatmulGflops), R(p.Bf16ConvGflops));
    }
}

/// <summary>`--time-budget`'s plan, its durations in seconds as every other --json duration.</summary>
internal sealed record BudgetRecord(double BudgetSeconds, double ImagesPerSecond, int Threads, double SecondsPerEpoch, int Rounds, int Epochs, int MaxEpochs, double PlannedSeconds)
{
    public static BudgetRecord? Of(BudgetPlan? p) => p is null ? null
        : new(p.BudgetMinutes * 60, p.ImagesPerSecond, p.Threads, p.SecondsPerEpoch, p.Rounds, p.Epochs, p.MaxEpochs, p.PlannedMinutes * 60);
}

/// <summary>
/// The units rule of docs/json.md, applied to every --json object in one place: a duration is in seconds, named
/// `seconds` or `*_seconds`, a rate per second is named `*_per_second`, and both are rounded to 4 significant digits
/// (enough for a 0.1 ms latency and a 3-hour training alike; more would only print timing noise).
/// </summary>
public static class JsonUnits
{
    public const int Digits = 4;

    public static bool IsTiming(string name) => name == "seconds" || name.EndsWith("_seconds", StringComparison.Ordinal) || name.EndsWith("_per_second", StringComparison.Ordinal);

    public static double Round(double value)
    {
        if (value == 0 || !double.IsFinite(value)) return value;
        int shift = Digits - 1 - (int)Math.Floor(Math.Log10(Math.Abs(value)));
        // Divide or multiply by an exact power of ten, so 0.0003123 and 123500 print as written.
        if (shift >= 0)
        {
            double p = Math.Pow(10, shift);
            return Math.Round(value * p) / p;
        }
        double q = Math.Pow(10, -shift);
        return Math.Round(value / q) * q;
    }

    /// <summary>Rounds every timing field in the tree (nested records and arrays included), in place.</summary>
    public static void Normalize(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o.ToList())
                {
                    if (IsTiming(key) && value is JsonValue v && v.TryGetValue(out double d)) o[key] = JsonValue.Create(Round(d));
                    else Normalize(value);
                }
                break;
            case JsonArray a:
                foreach (var e in a) Normalize(e);
                break;
        }
    }
}

// Each command's --json record: one named type per schema, the schema's name a constant on it (docs/json.md's table,
// the record and tests/Fmnist.Tests/Snapshots agree). Properties are PascalCase; JsonFiles.Options writes them in
// snake_case, nulls included. Rows of lists are named records too (nested, or the library's own where their
// names are the JSON's), so no --json output has an anonymous shape.

/// <summary>`fmnist.error/1`: a failure under --json.</summary>
internal sealed record ErrorJson(ErrorJson.Body Error)
{
    public const string Schema = "fmnist.error/1";

    /// <summary>The error's machine-readable code and its message.</summary>
    public sealed record Body(string Code, string Message);
}

/// <summary>`fmnist.train/2`: `train`.</summary>
internal sealed record TrainJson(string ModelDir, int BestEpoch, double? ValAccuracy, double TestAccuracy, double Seconds, int TrainImages,
    int ValidationImages, int TestImages, double PeakRssMb, string? Precision, string Layout, double? ImagesPerSecond, MachineRecord Machine,
    BudgetRecord? TimeBudget, IReadOnlyList<Training.EpochRecord> History)
{
    public const string Schema = "fmnist.train/2";
}

/// <summary>`fmnist.train-ensemble/2`: `train --ensemble N`, `train --preset best`.</summary>
internal sealed record TrainEnsembleJson(string ModelDir, int Members, int Parallel, double? ValAccuracy, double TestAccuracy, double Seconds,
    double WallSeconds, IReadOnlyList<double?> MemberValAccuracy, MachineRecord Machine, BudgetRecord? TimeBudget)
{
    public const string Schema = "fmnist.train-ensemble/2";
}

/// <summary>`fmnist.evaluate/1`: `evaluate`.</summary>
internal sealed record EvaluateJson(string ModelDir, IReadOnlyList<string> Models, string? Split, string? Images, string Tta, double Accuracy,
    int TestImages, IReadOnlyList<Evaluation.ClassMetrics> PerClass, int[][] Confusion, string ConfusionPng, string ErrorsPng, EvaluateJson.CalibrationJson Calibration,
    double? NotRecognized)
{
    public const string Schema = "fmnist.evaluate/1";

    /// <summary>The evaluated images' calibration, at temperature 1 and at the model's own.</summary>
    public sealed record CalibrationJson(double Temperature, string Fitted, double NllBefore, double NllAfter, double EceBefore, double EceAfter,
        int Bins, string? ReliabilityPng);
}

/// <summary>`fmnist.predict/1`: `predict`.</summary>
internal sealed record PredictJson(IReadOnlyList<PredictJson.Prediction> Predictions, string Calibration, int Photos, int NotRecognized, double Seconds)
{
    public const string Schema = "fmnist.predict/1";

    /// <summary>One photo (also a line of `--format jsonl`): the top-3, whether it was recognized and why not.</summary>
    public sealed record Prediction(string File, IReadOnlyList<Score> Top, bool Recognized, string? Reason, double? NeighbourDice)
    {
        public static Prediction Of(Trust.JudgedPrediction p) =>
            new(p.Name, [.. p.Top.Select(t => new Score(t.Class, t.Label, t.Probability))], p.Recognized, p.Reason, p.NeighbourDice);
    }

    /// <summary>A class and its calibrated probability.</summary>
    public sealed record Score(string Class, int Label, double Probability);
}

/// <summary>`fmnist.explain/1`: `explain`.</summary>
internal sealed record ExplainJson(IReadOnlyList<string> Models, string OutDir, IEnumerable<string> Files, IReadOnlyList<ExplainJson.Row> Explanations)
{
    public const string Schema = "fmnist.explain/1";

    /// <summary>One photo's explanation: its figure, the top-3, and the nearest training images.</summary>
    public sealed record Row(string File, string Png, string Class, IReadOnlyList<Score> Top, bool Recognized, string? Reason, bool GradCam,
        IReadOnlyList<Neighbour> Neighbours);

    /// <summary>A class and its probability (6 decimals).</summary>
    public sealed record Score(string Class, double Probability);

    /// <summary>A training image near the photo: its index in the training file, label, class and distance.</summary>
    public sealed record Neighbour(int Index, int Label, string Class, double Distance);
}

/// <summary>`fmnist.calibrate/3`: `calibrate`.</summary>
internal sealed record CalibrateJson(string Model, global::Fmnist.Trust.TrustInfo Trust, global::Fmnist.Trust.OodBenchmarkResult? Benchmark)
{
    public const string Schema = "fmnist.calibrate/3";
}

/// <summary>`fmnist.summary/1`: `summary`.</summary>
internal sealed record SummaryJson(IReadOnlyList<Models.SummaryRow> Layers, long TotalParameters, long TrainableParameters, long ForwardFlops)
{
    public const string Schema = "fmnist.summary/1";
}

/// <summary>`fmnist.sweep/1`: `sweep`.</summary>
internal sealed record SweepJson(string Directory, string Best, string BestModel, IReadOnlyList<SweepJson.Trial> Trials)
{
    public const string Schema = "fmnist.sweep/1";

    /// <summary>One trial: what it changes, how it ended, its accuracies (test: null when not scored) and the seed's.</summary>
    public sealed record Trial(string Name, string Changes, string Outcome, int Epochs, double? ValAccuracy, double? TestAccuracy,
        double? SeedAccuracy, double Seconds, bool Skipped);
}

/// <summary>`fmnist.sweep-worker/1`: `sweep --worker`, `sweep --trial-index`.</summary>
internal sealed record SweepWorkerJson(string Directory, string Mode, int? TrialIndex, string Worker, IReadOnlyList<Experiments.Search.JobRun> Jobs, bool Complete,
    int Pending, string Note)
{
    public const string Schema = "fmnist.sweep-worker/1";
}

/// <summary>`fmnist.reproduce/2`: `reproduce`.</summary>
internal sealed record ReproduceJson(string Report, bool Quick, IReadOnlyList<ReproduceJson.KnnRow> Knn, double? KnnTunedTestAccuracy,
    double CnnTestAccuracy, double? CnnValAccuracy, string ModelDir, double Seconds, IReadOnlyList<ReproduceJson.StepTime> Steps,
    double? CnnImagesPerSecond, string? CnnPrecision, MachineRecord Machine)
{
    public const string Schema = "fmnist.reproduce/2";

    /// <summary>The KNN's test accuracy at one K.</summary>
    public sealed record KnnRow(int K, double Accuracy);

    /// <summary>One step of the job and its seconds.</summary>
    public sealed record StepTime(string Step, double Seconds);
}

/// <summary>`fmnist.bench-train/2`: `bench train`.</summary>
internal sealed record BenchTrainJson(string Precision, string PrecisionReason, string Layout, string LayoutReason, double ImagesPerSecond,
    double TrainGflops, double? ShareOfGemmPeak, double InferenceImagesPerSecond, double InferenceGflops, double ForwardMflopPerImage, int BatchSize,
    int Batches, int Threads, string Allocator, Features.AugmentMode Augment, double RssStartMb, double RssEndMb, double PeakRssMb, GemmPeakRecord GemmPeak,
    MachineRecord Machine, IReadOnlyList<BenchTrainJson.LayerTime>? Layers)
{
    public const string Schema = "fmnist.bench-train/2";

    /// <summary>One measured configuration (a row of `--compare` / `--compare-layout`).</summary>
    public sealed record Run(string Precision, string PrecisionReason, bool Bf16Emulated, string Layout, string LayoutReason, double ImagesPerSecond,
        double TrainGflops, double? ShareOfGemmPeak, double InferenceImagesPerSecond, double InferenceGflops, double ForwardMflopPerImage,
        int BatchSize, int Batches, int Threads, string Allocator, Features.AugmentMode Augment, double RssStartMb, double RssEndMb);

    /// <summary>`--layers`: one layer of the CNN+LSTM alone, forward and backward, in seconds (channels-last where timed).</summary>
    public sealed record LayerTime(string Layer, string Input, double ForwardSeconds, double BackwardSeconds, double? ChannelsLastForwardSeconds,
        double? ChannelsLastBackwardSeconds);
}

/// <summary>`fmnist.bench-train-compare/2`: `bench train --compare` / `--compare-layout`.</summary>
internal sealed record BenchTrainCompareJson(IReadOnlyList<BenchTrainJson.Run> Runs, double? Bf16Speedup, double? ChannelsLastSpeedup, double PeakRssMb,
    GemmPeakRecord GemmPeak, MachineRecord Machine, IReadOnlyList<BenchTrainJson.LayerTime>? Layers)
{
    public const string Schema = "fmnist.bench-train-compare/2";
}

/// <summary>`fmnist.bench-infer/2`: `bench infer`.</summary>
internal sealed record BenchInferJson(string Model, MachineRecord Machine, GemmPeakRecord GemmPeak, double? ForwardMflopPerImage, int Threads, bool Spinning,
    string? OrtOptimization, string Allocator, IReadOnlyList<BenchInferJson.RuntimeSpeed> Runtimes, double PeakRssMb)
{
    public const string Schema = "fmnist.bench-infer/2";

    /// <summary>One runtime (TorchSharp, ONNX Runtime): throughput at batch 1 and 256, one-image latency percentiles.</summary>
    public sealed record RuntimeSpeed(string Runtime, double Batch1ImagesPerSecond, double Batch256ImagesPerSecond, double? Batch256Gflops,
        double? ShareOfGemmPeak, double P50Seconds, double P99Seconds, int SingleCalls, int Batches);
}

/// <summary>`fmnist.bench-curve/2`: `bench curve`.</summary>
internal sealed record BenchCurveJson(string File, int Runs, IEnumerable<BenchCurveJson.Goal> Goals)
{
    public const string Schema = "fmnist.bench-curve/2";

    /// <summary>One goal drawn on the figure: a time in seconds and a test accuracy.</summary>
    public sealed record Goal(double Seconds, double TestAccuracy);
}

/// <summary>`fmnist.export/1`: `export`.</summary>
internal sealed record ExportJson(string ModelDir, string Format, string File, long Bytes, long Parameters, double? TestAccuracy, int? Opset)
{
    public const string Schema = "fmnist.export/1";
}

/// <summary>`fmnist.serve/2`: `serve`, once listening.</summary>
internal sealed record ServeJson(IEnumerable<string> Urls, string Model, string Runtime, long Parameters, double? TestAccuracy, int Batch,
    double BatchWaitSeconds, int QueueLimit, double DeadlineSeconds, long PixelBudget, int DecodeLimit, bool ApiKey)
{
    public const string Schema = "fmnist.serve/2";
}

/// <summary>`fmnist.version/2`: `version`.</summary>
internal sealed record VersionJson(string Fmnist, string TorchSharp, string Libtorch, string OnnxRuntime, string Dotnet, string Runtime, string Os,
    string Allocator, MachineRecord Machine)
{
    public const string Schema = "fmnist.version/2";
}

/// <summary>`fmnist.data/1`: `data`.</summary>
internal sealed record DataJson(string Directory, string Source, int Train, int Test, IReadOnlyList<DataJson.ClassCount> Classes,
    IReadOnlyList<DataJson.Checksum> Checksums, bool Official, double LoadSeconds, string? Preview)
{
    public const string Schema = "fmnist.data/1";

    /// <summary>One data file: its MD5, the MD5 of its decompressed content, and whether each is the official one.</summary>
    public sealed record Checksum(string File, string Md5, string ContentMd5, bool OfficialFile, bool OfficialContent);

    /// <summary>One class: its label, name, and images in each split.</summary>
    public sealed record ClassCount(int Label, string Name, int Train, int Test);
}

/// <summary>`fmnist.knn/2`: `knn`.</summary>
internal sealed record KnnJson(int Threshold, Models.Knn.KnnWeights Weights, int Train, int Test, IReadOnlyList<KnnJson.Result> Results, double Seconds,
    double SearchSeconds, double LoadSeconds, double WallSeconds, double PeakRssMb, string Kernel, MachineRecord Machine)
{
    public const string Schema = "fmnist.knn/2";

    /// <summary>Test accuracy at one K, and the seed's where it published that K.</summary>
    public sealed record Result(int K, double Accuracy, int Correct, double? SeedAccuracy);
}

/// <summary>`fmnist.knn-tune/2`: `knn --tune`.</summary>
internal sealed record KnnTuneJson(KnnTuneJson.BestJson Best, double TestAccuracy, int Train, int Validation, int Seed, int Trials, double Seconds,
    double LoadSeconds, MachineRecord Machine, double ShiftedBestValAccuracy, IReadOnlyList<KnnTuneJson.ThresholdJson> ByThreshold)
{
    public const string Schema = "fmnist.knn-tune/2";

    /// <summary>The setting of best validation accuracy.</summary>
    public sealed record BestJson(int Threshold, int K, Models.Knn.KnnWeights Weights, bool Shifted, double ValAccuracy);

    /// <summary>The best K and weights at one threshold (unshifted).</summary>
    public sealed record ThresholdJson(int Threshold, int K, Models.Knn.KnnWeights Weights, double ValAccuracy);
}

/// <summary>`fmnist.bench-knn/2`: `bench knn`.</summary>
internal sealed record BenchKnnJson(int Train, int Test, string Kernel, double FirstRunSeconds, double Seconds, double MinSeconds, double PairsPerSecond,
    double PeakRssMb, double AccuracyK1, MachineRecord Machine)
{
    public const string Schema = "fmnist.bench-knn/2";
}
