using System.CommandLine;
using Fmnist.Models.Knn;
using Spectre.Console;

namespace Fmnist.Cli.Commands;

internal static class BenchCommand
{
    public static Command Create(CliIo io)
    {
        var command = new Command("bench", "Speed benchmarks (run on a quiet machine)");
        command.Subcommands.Add(Knn(io));
        command.Subcommands.Add(Train(io));
        command.Subcommands.Add(Infer(io));
        command.Subcommands.Add(Curve(io));
        return command;
    }

    private static Command Infer(CliIo io)
    {
        var dataDir = Common.DataDir();
        var json = Common.Json();
        var model = new Option<string>("--model") { Description = "Run folder (TorchSharp, and ONNX Runtime on a temporary export of it) or an .onnx file (ONNX Runtime only)", DefaultValueFactory = _ => Path.Combine("runs", "reproduce", "cnn-seed") };
        var singles = new Option<int>("--single-calls") { Description = "Timed one-image calls per runtime, after 20 warm-up calls", DefaultValueFactory = _ => 500 };
        var batches = new Option<int>("--steps") { Description = "Timed forward passes of 256 images per runtime, after 2 warm-up passes", DefaultValueFactory = _ => 20 };
        var threads = new Option<int?>("--ort-threads") { Description = "ONNX Runtime intra-op threads (TorchSharp's are libtorch's, --threads elsewhere) [default: all cores]" };
        var spinning = new Option<bool>("--spinning") { Description = "Let idle ONNX Runtime threads spin (faster on a quiet machine, slows everyone on a busy one) [default: False]" };
        var optimization = new Option<string>("--ort-optimization") { Description = "ONNX Runtime graph optimizations: none, basic, extended or all", DefaultValueFactory = _ => "all" };
        optimization.AcceptOnlyFromAmong("none", "basic", "extended", "all");
        var command = new Command("infer", "Inference speed, TorchSharp vs ONNX Runtime: images/s at batch 1 and 256, one-image latency p50/p99") { dataDir, json, model, singles, batches, threads, spinning, optimization,
            Common.Renamed("--batches", "--steps", "timed forward passes"), Common.Renamed("--threads", "--ort-threads", "ONNX Runtime's threads") };
        command.SetAction(parse =>
        {
            var loaded = Common.Load(parse.GetValue(dataDir));
            var images = loaded.Data.Test.Take(Inference.InferenceBenchmark.BatchSize * 4).Images;
            var r = Inference.InferenceBenchmark.Run(parse.GetValue(model)!, images, parse.GetValue(singles), parse.GetValue(batches), parse.GetValue(threads), parse.GetValue(spinning),
                parse.GetValue(optimization) switch
                {
                    "none" => Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_DISABLE_ALL,
                    "basic" => Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                    "extended" => Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                    _ => Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL,
                });
            var peak = Platform.GemmPeak.Measure();
            var machine = Experiments.MachineInfo.Current();
            // FLOPs per image are known from a run folder's config; a bare .onnx file has no config to read them from.
            long? flops = Inference.Classifiers.IsOnnxFile(r.Model) ? null : Models.ModelFactory.ForwardFlops(new Training.RunFolder(r.Model).ReadInfo().Config.Model);
            double? Gflops(double imagesPerSecond) => flops is { } f ? Math.Round(imagesPerSecond * f / 1e9, 1) : null;
            double? Share(double imagesPerSecond) => flops is { } f ? Math.Round(imagesPerSecond * f / 1e9 / peak.Fp32Gflops, 3) : null;
            if (parse.GetValue(json))
            {
                io.WriteJson(new BenchInferJson(
                    Model: r.Model,
                    Machine: MachineRecord.Of(machine),
                    GemmPeak: GemmPeakRecord.Of(peak),
                    ForwardMflopPerImage: flops is { } f ? Math.Round(f / 1e6, 1) : null,
                    Threads: r.Threads,
                    Spinning: parse.GetValue(spinning),
                    OrtOptimization: parse.GetValue(optimization),
                    Allocator: r.Allocator,
                    Runtimes: [.. r.Runtimes.Select(s => new BenchInferJson.RuntimeSpeed(s.Runtime, s.Batch1ImagesPerSecond, s.Batch256ImagesPerSecond,
                        Gflops(s.Batch256ImagesPerSecond), Share(s.Batch256ImagesPerSecond), s.P50Ms / 1000, s.P99Ms / 1000, s.SingleCalls, s.Batches))],
                    PeakRssMb: r.PeakRssMb), BenchInferJson.Schema);
                return 0;
            }
            var table = new Table().AddColumns("Runtime", "batch 1 images/s", "batch 256 images/s", "p50 ms (1 image)", "p99 ms (1 image)");
            foreach (var s in r.Runtimes)
                table.AddRow(s.Runtime, s.Batch1ImagesPerSecond.ToString("N0"), s.Batch256ImagesPerSecond.ToString("N0"), s.P50Ms.ToString("F3"), s.P99Ms.ToString("F3"));
            var console = io.Human(false);
            console.MarkupLineInterpolated($"{machine.Cpu} ({string.Join(' ', machine.InstructionSets)}); fp32 matrix multiply {peak.Fp32Gflops:F0} GFLOP/s (matmul {peak.Fp32MatmulGflops:F0}, as a 1x1 convolution {peak.Fp32ConvGflops:F0})");
            console.MarkupLineInterpolated($"{r.Model}: {r.Threads} threads, {r.Allocator} malloc, peak RSS {r.PeakRssMb:F0} MB");
            console.Write(table);
            foreach (var s in r.Runtimes)
                if (Share(s.Batch256ImagesPerSecond) is { } share)
                    console.MarkupLineInterpolated($"{s.Runtime}, batch 256: {Gflops(s.Batch256ImagesPerSecond):F0} GFLOP/s, {share:P0} of the fp32 matrix-multiply peak");
            return 0;
        });
        return command;
    }

    private static Command Train(CliIo io)
    {
        var dataDir = Common.DataDir();
        var json = Common.Json();
        var batches = new Option<int>("--steps") { Description = "Timed training steps (after 3 warm-up steps)", DefaultValueFactory = _ => 30 };
        var compare = new Option<bool>("--compare-precision") { Description = "Time the same configuration in fp32 and in bf16 (fp32 master weights) and report the speed-up; where bf16 is not native it is emulated, so only 3 steps are timed [default: False]" };
        var compareLayout = new Option<bool>("--compare-layout") { Description = "Time the same configuration in NCHW and in channels-last memory layout and report the speed-up (with --compare-precision: all four) [default: False]" };
        var layers = new Option<bool>("--layers") { Description = "Also time each CNN+LSTM layer alone, forward and backward, and its convolutions, BatchNorms and pools in channels-last layout too [default: False]" };
        var hyper = new TrainOptions();
        var command = new Command("train", "Training throughput (images/s and GFLOP/s against this machine's measured matrix-multiply peak) on real images, the seed's best config by default (--preset resnet: the ResNet recipe; --preset fast: the speed network)") { dataDir, json, batches, compare, compareLayout, layers, Common.Renamed("--batches", "--steps", "timed training steps") };
        var threads = Common.Threads();
        command.Options.Add(threads);
        foreach (var o in hyper.All) command.Options.Add(o);
        command.SetAction(parse =>
        {
            Common.ApplyThreads(parse, threads);
            var config = hyper.Resolve(parse);
            var loaded = Common.Load(parse.GetValue(dataDir));
            var images = loaded.Data.Train.Take(config.TrainLimit ?? 20000);
            var peak = Platform.GemmPeak.Measure();
            var machine = Experiments.MachineInfo.Current();
            var precisions = parse.GetValue(compare)
                ? [config with { Precision = Training.Precision.Fp32 }, config with { Precision = Training.Precision.Bf16 }]
                : new[] { config };
            var configs = parse.GetValue(compareLayout)
                ? precisions.SelectMany(c => new[] { c with { Layout = Models.MemoryLayout.Nchw }, c with { Layout = Models.MemoryLayout.ChannelsLast } }).ToArray()
                : precisions;
            int timed = Math.Max(1, parse.GetValue(batches));
            var runs = configs.Select(c =>
            {
                bool emulated = Training.PrecisionChoice.Resolve(c.Precision).Used == Training.Precision.Bf16 && !machine.NativeBf16;
                var r = Training.TrainBenchmark.Run(images, c, emulated ? Math.Min(timed, 3) : timed, emulated ? 1 : 3);
                double? peakGflops = r.Precision.Used == Training.Precision.Bf16 ? peak.Bf16Gflops : peak.Fp32Gflops;
                return new BenchTrainJson.Run(r.Precision.Name, r.Precision.Reason, emulated, r.Layout.Name, r.Layout.Reason, r.ImagesPerSecond,
                    Math.Round(r.TrainGflops, 1), peakGflops is { } p ? Math.Round(r.TrainGflops / p, 3) : null, r.InferenceImagesPerSecond,
                    Math.Round(r.InferenceGflops, 1), Math.Round(r.ForwardFlops / 1e6, 1), r.BatchSize, r.Batches, r.Threads,
                    Training.TorchRuntime.Allocator, c.Augment, Math.Round(r.RssStartMb), Math.Round(r.RssEndMb));
            }).ToList();
            var layerTimes = parse.GetValue(layers) && config.Model is Models.CnnLstm.CnnLstmConfig cnnLstm
                ? Models.CnnLstm.LayerTimer.Run(cnnLstm, config.BatchSize) : null;
            // Seconds, as every duration; 4 significant digits keep the output layer's few microseconds.
            List<BenchTrainJson.LayerTime>? layerJson = layerTimes?.Select(l => new BenchTrainJson.LayerTime(l.Layer, l.Input, l.ForwardMs / 1000,
                l.BackwardMs / 1000, l.ChannelsLastForwardMs / 1000, l.ChannelsLastBackwardMs / 1000)).ToList();
            // Speed-ups between runs that differ in one thing: bf16 over fp32 in the first layout, channels-last
            // over NCHW in the first precision.
            var rates = runs.ToDictionary(r => (r.Precision, r.Layout), r => r.ImagesPerSecond);
            double? Ratio((string, string) slow, (string, string) fast) =>
                rates.TryGetValue(slow, out var a) && rates.TryGetValue(fast, out var b) ? Math.Round(b / a, 2) : null;
            string firstLayout = runs[0].Layout, firstPrecision = runs[0].Precision;
            double? speedup = parse.GetValue(compare) ? Ratio(("fp32", firstLayout), ("bf16", firstLayout)) : null;
            double? layoutSpeedup = parse.GetValue(compareLayout) ? Ratio((firstPrecision, "nchw"), (firstPrecision, "channels-last")) : null;
            var gemm = GemmPeakRecord.Of(peak);
            if (parse.GetValue(json))
            {
                var r = runs[0];
                if (runs.Count == 1)
                    io.WriteJson(new BenchTrainJson(r.Precision, r.PrecisionReason, r.Layout, r.LayoutReason, r.ImagesPerSecond, r.TrainGflops,
                        r.ShareOfGemmPeak, r.InferenceImagesPerSecond, r.InferenceGflops, r.ForwardMflopPerImage, r.BatchSize, r.Batches,
                        r.Threads, r.Allocator, r.Augment, r.RssStartMb, r.RssEndMb, ProcessMemory.PeakMb(), gemm, MachineRecord.Of(machine),
                        layerJson), BenchTrainJson.Schema);
                else
                    io.WriteJson(new BenchTrainCompareJson(runs, speedup, layoutSpeedup, ProcessMemory.PeakMb(), gemm, MachineRecord.Of(machine), layerJson), BenchTrainCompareJson.Schema);
                return 0;
            }
            var console = io.Human(false);
            console.MarkupLineInterpolated($"{machine.Cpu}: {string.Join(' ', machine.InstructionSets)}; {machine.Threads} threads, {machine.Allocator} malloc");
            console.MarkupLineInterpolated($"matrix multiply {peak.Size}x{peak.Size}, the faster of matmul and a 1x1 convolution: fp32 {peak.Fp32Gflops:F0} GFLOP/s{(peak.Bf16Gflops is { } bf ? $", bf16 {bf:F0} GFLOP/s" : "; bf16 not native, not timed")}");
            foreach (var r in runs)
                console.MarkupLineInterpolated(
                    $"{r.Precision}{(r.Bf16Emulated ? " (emulated)" : "")}, {r.Layout}: training {r.ImagesPerSecond:F0} images/s = {r.TrainGflops:F0} GFLOP/s{(r.ShareOfGemmPeak is { } sh ? $" ({sh:P0} of the {r.Precision} matrix-multiply peak)" : "")} (batch {r.BatchSize}, {r.Batches} steps); inference {r.InferenceImagesPerSecond:F0} images/s; RSS {r.RssStartMb:F0} -> {r.RssEndMb:F0} MB");
            if (speedup is not null) console.MarkupLineInterpolated($"bf16 trains {speedup:F2}x as fast as fp32");
            if (layoutSpeedup is not null) console.MarkupLineInterpolated($"channels-last trains {layoutSpeedup:F2}x as fast as NCHW");
            if (layerTimes is not null)
            {
                var table = new Table().AddColumns("Layer", "Input", "forward ms", "backward ms", "channels-last fwd ms", "channels-last bwd ms");
                foreach (var l in layerTimes)
                    table.AddRow(l.Layer, l.Input, l.ForwardMs.ToString("F2"), l.BackwardMs.ToString("F2"),
                        l.ChannelsLastForwardMs?.ToString("F2") ?? "", l.ChannelsLastBackwardMs?.ToString("F2") ?? "");
                table.AddRow("sum", "", layerTimes.Sum(l => l.ForwardMs).ToString("F2"), layerTimes.Sum(l => l.BackwardMs).ToString("F2"), "", "");
                console.Write(table);
                console.MarkupLineInterpolated($"a whole step at this batch: {config.BatchSize / runs[0].ImagesPerSecond * 1000:F1} ms");
            }
            console.MarkupLineInterpolated($"peak RSS {ProcessMemory.PeakMb():F0} MB");
            return 0;
        });
        return command;
    }

    private static Command Knn(CliIo io)
    {
        var dataDir = Common.DataDir();
        var json = Common.Json();
        var repeat = new Option<int>("--repeat") { Description = "Timed repetitions after one warm-up; the median is reported", DefaultValueFactory = _ => 5 };
        var kernel = Common.KnnKernel();
        var command = new Command("knn", "Time the full 10,000 x 60,000 Hamming KNN scoring K = 1,4,9,20,50,100") { dataDir, json, repeat, kernel };
        command.SetAction(parse =>
        {
            var loaded = Common.Load(parse.GetValue(dataDir));
            int n = Math.Max(1, parse.GetValue(repeat));
            var options = new KnnOptions(KnnOptions.SeedKs, Kernel: parse.GetValue(kernel));
            var first = KnnClassifier.Run(loaded.Data.Train, loaded.Data.Test, options);
            var times = Enumerable.Range(0, n).Select(_ =>
            {
                GC.Collect(); // the previous repetition's arrays must not count towards peak memory
                return KnnClassifier.Run(loaded.Data.Train, loaded.Data.Test, options).Seconds;
            }).Order().ToArray();
            double median = times[n / 2];
            double pairs = (double)loaded.Data.Train.Count * loaded.Data.Test.Count;
            var machine = Experiments.MachineInfo.Current(threads: Environment.ProcessorCount); // the search's Parallel.For threads
            var result = new BenchKnnJson(
                Train: loaded.Data.Train.Count,
                Test: loaded.Data.Test.Count,
                Kernel: first.Kernel,
                FirstRunSeconds: first.Seconds,
                Seconds: median,
                MinSeconds: times[0],
                PairsPerSecond: pairs / median,
                PeakRssMb: ProcessMemory.PeakMb(),
                AccuracyK1: first.Results[0].Accuracy,
                Machine: MachineRecord.Of(machine));
            if (parse.GetValue(json))
            {
                io.WriteJson(result, BenchKnnJson.Schema);
                return 0;
            }
            var console = io.Human(false);
            console.MarkupLineInterpolated($"{machine.Cpu} ({string.Join(' ', machine.InstructionSets)})");
            console.MarkupLineInterpolated($"Hamming KNN {result.Test:N0} x {result.Train:N0}, all six K, {result.Kernel} kernel, {machine.Threads} threads");
            console.MarkupLineInterpolated($"first run {result.FirstRunSeconds:F3} s; median of {n} {result.Seconds:F3} s (min {result.MinSeconds:F3} s); {result.PairsPerSecond / 1e9:F2} G pairs/s (all pairs / time: pairs the popcount window skips count too); peak RSS {result.PeakRssMb:F0} MB");
            return 0;
        });
        return command;
    }

    /// <summary>`bench curve`: the time-to-accuracy figure from the measured runs listed in a CSV.</summary>
    private static Command Curve(CliIo io)
    {
        var json = Common.Json();
        var csv = new Option<string>("--csv") { Description = "Runs: label,minutes,test_accuracy,cpu,command per line (this repository's are docs/results/time-to-accuracy.csv)", Required = true };
        var output = new Option<string>("--out") { Description = "PNG to write", DefaultValueFactory = _ => "time-to-accuracy.png" };
        var goal = Common.List("--goal", $"Targets drawn as dashed corners, MINUTES:PERCENT ({Common.ListForm}) [default: none]",
            v => v.Split(','), "MINUTES:PERCENT");
        var command = new Command("curve", "Plot test accuracy against training minutes for the runs a CSV lists (the time-to-accuracy figure of docs/speedrun.md)") { json, csv, output, goal };
        command.SetAction(parse =>
        {
            var points = Reports.TimeToAccuracy.ReadCsv(parse.GetValue(csv)!);
            var drawn = (parse.GetValue(goal) ?? []).Where(g => g != "none").Select(Reports.AccuracyGoal.Parse).ToList();
            var path = AtomicFile.CheckTarget(parse.GetValue(output)!, "time-to-accuracy.png");
            Reports.TimeToAccuracy.SavePlot(points, path, drawn);
            if (parse.GetValue(json))
            {
                io.WriteJson(new BenchCurveJson(path, points.Count, drawn.Select(g => new BenchCurveJson.Goal(g.Minutes * 60, g.TestAccuracy))), BenchCurveJson.Schema);
                return 0;
            }
            io.Human(false).MarkupLineInterpolated($"wrote {path} ({points.Count} runs)");
            return 0;
        });
        return command;
    }
}
