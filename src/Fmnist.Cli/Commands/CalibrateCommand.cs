using System.CommandLine;
using Fmnist.Trust;
using Spectre.Console;

namespace Fmnist.Cli.Commands;

/// <summary>`calibrate`: fits a model's temperature and recognition thresholds on its validation split (trust.json),
/// and with --ood measures them on a benchmark of garment and non-garment photos.</summary>
internal static class CalibrateCommand
{
    public static Command Create(CliIo io)
    {
        var dataDir = Common.DataDir();
        var json = Common.Json();
        var model = new Option<string>("--model")
        {
            Description = "Run folder or ensemble folder to calibrate (training calibrates new runs itself; this is for older runs, or to measure)",
            Required = true,
        };
        var ood = new Option<string?>("--ood")
        {
            Description = "Also measure on a benchmark folder: garments/<class>/ photos and ood/<set>/ photos that are not garments (scripts/ood/make-benchmark.sh makes one) [default: none]",
        };
        var refit = new Option<bool>("--refit") { Description = "Fit again even when the model has a trust.json [default: False]" };
        var command = new Command("calibrate", "Fit the temperature (probabilities that mean what they say) and the 'recognized' thresholds on the model's validation split; write trust.json")
            { dataDir, json, model, ood, refit };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(model)!;
            var loaded = Common.Load(parse.GetValue(dataDir));
            var info = !parse.GetValue(refit) && Inference.Classifiers.Trust(path) is { } existing ? existing : TrustWorkflow.Calibrate(path, loaded.Data.Train);
            OodBenchmarkResult? bench = null;
            if (parse.GetValue(ood) is { } root)
            {
                using var trusted = new TrustedModel(path, loaded.Data.Train);
                bench = OodBenchmark.Run(trusted, root);
            }
            if (parse.GetValue(json))
            {
                io.WriteJson(new CalibrateJson(path, info, bench), CalibrateJson.Schema);
                return 0;
            }
            var console = io.Human(false);
            console.MarkupLineInterpolated($"[bold]{path}[/]: temperature {info.Temperature:0.###}, fitted on {info.CalibratedOn}");
            if (info.Before is { } b && info.After is { } a)
                console.MarkupLineInterpolated($"  validation NLL {b.Nll:0.0000} -> {a.Nll:0.0000}, ECE ({Calibration.Bins} bins) {b.Ece:P2} -> {a.Ece:P2}");
            var r = info.Ood;
            console.MarkupLineInterpolated($"  recognized when: contrast >= {r.MinContrast}, border clutter <= {r.MaxBorderClutter:P0}, largest shape >= {r.MinShapeShare:P0} of the ink, distance to the nearest training garment ({r.NeighbourMetric}) <= {r.MaxNeighbourDistance:0.###}, confidence >= {r.MinConfidence:P1}");
            console.MarkupLineInterpolated($"  keeps {r.ValidationKept:P1} of {r.ValidationImages:N0} validation garments rendered as photos; wrote {Path.Combine(path, TrustInfo.FileName)}");
            if (info.OodWithFeatures is { } f)
                console.MarkupLineInterpolated($"  with the network's features (this run folder; not its ONNX export): neighbour distance <= {f.MaxNeighbourDistance:0.###}, feature distance <= {f.MaxFeatureDistance:0.#}, confidence >= {f.MinConfidence:P1}, keeping {f.ValidationKept:P1}");
            if (bench is null) return 0;
            console.MarkupLineInterpolated($"[bold]Benchmark {parse.GetValue(ood)}[/]: {bench.Garments:N0} garment photos, {bench.GarmentsRecognized:P1} recognized, {bench.AccuracyOfRecognized:P1} of those right ({bench.Accuracy:P1} of all); {bench.Refused:P1} of the non-garments refused");
            foreach (var (reason, count) in bench.GarmentReasons) console.MarkupLineInterpolated($"  garments refused as '{reason}': {count}");
            var scores = OodBenchmark.Scores.Where(k => bench.Sets.All(s => s.Auroc.ContainsKey(k))).ToList();
            var table = new Table().AddColumns(["Set", "Photos", "Refused", .. scores.Select(s => s.Replace('_', ' '))]);
            foreach (var s in bench.Sets)
                table.AddRow([s.Set, s.Images.ToString("N0"), s.Refused.ToString("P1"), .. scores.Select(k => s.Auroc[k].ToString("0.000"))]);
            console.Write(table);
            console.MarkupLine("(score columns: AUROC of each score separating the set from the garments; 1 = perfect, 0.5 = chance)");
            return 0;
        });
        return command;
    }
}
