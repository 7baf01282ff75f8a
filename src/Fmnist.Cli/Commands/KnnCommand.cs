using System.CommandLine;
using System.Diagnostics;
using Fmnist.Experiments;
using Fmnist.Models.Knn;
using Spectre.Console;

namespace Fmnist.Cli.Commands;

internal static class KnnCommand
{
    public static Command Create(CliIo io)
    {
        var dataDir = Common.DataDir();
        var json = Common.Json();
        var ks = Common.List("--k", $"K values, all scored from one search ({Common.ListForm}) [default: {string.Join(',', KnnOptions.SeedKs)}]", v => v, "K,K,...");
        var threshold = new Option<int>("--threshold") { Description = "Binarize with pixel > threshold (0..254)", DefaultValueFactory = _ => 127 };
        var weights = new Option<KnnWeights>("--weights") { Description = "Vote weighting: uniform or distance (1/d)", DefaultValueFactory = _ => KnnWeights.Uniform };
        var trainLimit = Common.Limit("--train-limit", "training");
        var testLimit = Common.Limit("--test-limit", "test");
        var shifted = new Option<bool>("--shifted") { Description = "Add one-pixel-shifted copies of each training image (5x slower) [default: False]" };
        var tune = new Option<bool>("--tune") { Description = "Choose threshold, K and weights on a validation split of the training set, then report test accuracy once [default: False]" };
        var seed = new Option<int>("--seed") { Description = "Seed of the validation split for --tune", DefaultValueFactory = _ => 1 };
        var kernel = Common.KnnKernel();
        var command = new Command("knn", "Hamming-distance KNN on binarized images: the seed's K table")
            { dataDir, json, ks, threshold, weights, shifted, trainLimit, testLimit, tune, seed, kernel };
        command.SetAction(parse =>
        {
            var wall = Stopwatch.StartNew();
            bool asJson = parse.GetValue(json);
            var loaded = Common.Load(parse.GetValue(dataDir));
            var train = loaded.Data.Train.Take(Common.Positive(parse.GetValue(trainLimit), "--train-limit"));
            var test = loaded.Data.Test.Take(Common.Positive(parse.GetValue(testLimit), "--test-limit"));
            if (parse.GetValue(tune)) return Tune(io, asJson, train, test, parse.GetValue(seed), loaded.Seconds);

            int t = parse.GetValue(threshold);
            if (t is < 0 or > 254) throw new UsageException($"--threshold must be 0..254, got {t}");
            var kList = ParseKs(parse.GetValue(ks) ?? string.Join(',', KnnOptions.SeedKs), train.Count);
            var run = KnnClassifier.Run(train, test, new KnnOptions(kList, t, parse.GetValue(weights), parse.GetValue(kernel), parse.GetValue(shifted)));
            var result = new KnnJson(
                Threshold: run.Threshold,
                Weights: run.Weights,
                Train: run.Train,
                Test: run.Test,
                Results: [.. run.Results.Select(r => new KnnJson.Result(r.K, r.Accuracy, r.Correct, SeedReference.Knn(r.K)))],
                Seconds: run.Seconds,
                SearchSeconds: run.SearchSeconds,
                LoadSeconds: loaded.Seconds,
                WallSeconds: wall.Elapsed.TotalSeconds,
                PeakRssMb: ProcessMemory.PeakMb(),
                Kernel: run.Kernel,
                Machine: MachineRecord.Current(threads: Environment.ProcessorCount)); // the search's Parallel.For threads
            if (asJson)
            {
                io.WriteJson(result, KnnJson.Schema);
                return 0;
            }
            var console = io.Human(false);
            console.MarkupLineInterpolated($"Hamming KNN, pixel > {run.Threshold}, {run.Weights.ToString().ToLowerInvariant()} votes, {run.Train:N0} train / {run.Test:N0} test");
            var table = new Table().AddColumns("K", "Accuracy", "Seed's accuracy");
            var bestK = run.Results.MaxBy(r => r.Accuracy)!.K;
            foreach (var r in run.Results)
            {
                var acc = $"{r.Accuracy:P2}";
                table.AddRow(r.K == bestK ? $"[bold]{r.K}[/]" : r.K.ToString(), r.K == bestK ? $"[bold]{acc}[/]" : acc,
                    SeedReference.Knn(r.K) is { } s ? $"{s:P2}" : "-");
            }
            console.Write(table);
            console.MarkupLineInterpolated($"KNN time {run.Seconds:F3} s (search {run.SearchSeconds:F3} s, {run.Kernel} kernel, {Environment.ProcessorCount} threads); data load {loaded.Seconds:F2} s; peak memory {result.PeakRssMb:F0} MB");
            return 0;
        });
        return command;
    }

    internal static int[] ParseKs(string text, int trainCount)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var list = new List<int>();
        foreach (var p in parts)
        {
            if (!int.TryParse(p, out var k) || k < 1 || k > trainCount)
                throw new UsageException($"--k: '{p}' is not a whole number in 1..{trainCount}");
            if (!list.Contains(k)) list.Add(k);
        }
        if (list.Count == 0) throw new UsageException("--k needs at least one value");
        return list.ToArray();
    }

    private static int Tune(CliIo io, bool asJson, Data.LabeledImages train, Data.LabeledImages test, int seed, double loadSeconds)
    {
        int done = 0;
        var progress = new Progress<KnnTrial>(_ =>
        {
            if (++done % (2 * KnnTuner.DefaultKs.Count) == 0 && io.Interactive)
                io.Stderr.Write($"\rtuning: {done / (2 * KnnTuner.DefaultKs.Count)} settings of threshold tried");
        });
        var tuning = KnnTuner.Tune(train, test, KnnTuner.DefaultThresholds, KnnTuner.DefaultKs, 0.2, seed, progress);
        io.Stderr.WriteLine();
        var b = tuning.Best;
        var result = new KnnTuneJson(
            Best: new(b.Threshold, b.K, b.Weights, b.Shifted, b.ValAccuracy),
            TestAccuracy: tuning.TestAccuracy,
            Train: tuning.TrainCount,
            Validation: tuning.ValCount,
            Seed: seed,
            Trials: tuning.Trials.Count,
            Seconds: tuning.Seconds,
            LoadSeconds: loadSeconds,
            Machine: MachineRecord.Current(threads: Environment.ProcessorCount),
            ShiftedBestValAccuracy: tuning.Trials.Where(t => t.Shifted).Max(t => t.ValAccuracy),
            ByThreshold: [.. tuning.Trials.Where(t => !t.Shifted).GroupBy(t => t.Threshold).OrderBy(g => g.Key)
                .Select(g => { var top = g.MaxBy(t => t.ValAccuracy)!; return new KnnTuneJson.ThresholdJson(g.Key, top.K, top.Weights, top.ValAccuracy); })]);
        if (asJson)
        {
            io.WriteJson(result, KnnTuneJson.Schema);
            return 0;
        }
        var console = io.Human(false);
        console.MarkupLineInterpolated($"KNN tuning on a {tuning.ValCount:N0}-image validation split (best K and weights per threshold)");
        var table = new Table().AddColumns("Threshold", "Best K", "Weights", "Validation accuracy");
        foreach (var row in result.ByThreshold)
            table.AddRow(row.Threshold.ToString(), row.K.ToString(), row.Weights.ToString().ToLowerInvariant(), $"{row.ValAccuracy:P2}");
        console.Write(table);
        console.MarkupLineInterpolated($"With one-pixel-shifted training copies at the best threshold: {result.ShiftedBestValAccuracy:P2} validation.");
        console.MarkupLineInterpolated($"Chosen on validation: threshold {b.Threshold}, K={b.K}, {b.Weights.ToString().ToLowerInvariant()} votes, {(b.Shifted ? "with" : "without")} shifted copies ({b.ValAccuracy:P2}).");
        console.MarkupLineInterpolated($"[bold]Test accuracy (60,000 train / {test.Count:N0} test, measured once): {tuning.TestAccuracy:P2}[/]  ({tuning.Seconds:F1} s)");
        return 0;
    }
}
