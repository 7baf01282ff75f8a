using System.CommandLine;
using Fmnist.Experiments;
using Fmnist.Inference;
using Fmnist.Models.CnnLstm;
using Fmnist.Training;
using Spectre.Console;

namespace Fmnist.Cli.Commands;

/// <summary>`evaluate`, `predict` and `summary`: commands that use a model rather than train one.</summary>
internal static class ModelCommands
{
    public static Option<string[]?> ModelOption()
    {
        var option = Common.List("--model",
            $"Run folder holding config.json and model.pt (e.g. runs/seed-headline or runs/sweep/best_model), or an .onnx file from `fmnist export`; several ({Common.ListForm}) average their probabilities (an ensemble)",
            v => Common.Items([v], paths: true).ToArray(), "DIR|FILE.onnx", paths: true);
        option.Required = true;
        return option;
    }

    /// <summary>`--tta MODE`; a bare `--tta` means flip (its meaning before the modes existed).</summary>
    public static Option<Evaluation.TtaMode> TtaOption() => new("--tta")
    {
        Description = "Test-time augmentation, the views whose predictions are averaged: none, flip (the image and its mirror), shift (and its four 1-pixel shifts), flip-shift (those five and their mirrors: 10 views), flip-diagonal (the image, its 8 one-pixel neighbours and their mirrors: 18 views) or flip-shift2 (the image, its 1- and 2-pixel shifts along each axis and their mirrors: 18 views); a bare --tta is flip",
        Arity = ArgumentArity.ZeroOrOne,
        HelpName = string.Join("|", Evaluation.Tta.Names),
        DefaultValueFactory = _ => Evaluation.TtaMode.None,
        CustomParser = r =>
        {
            if (r.Tokens.Count == 0) return Evaluation.TtaMode.Flip;
            try
            {
                return Evaluation.Tta.Parse(r.Tokens[0].Value);
            }
            catch (FmnistException e)
            {
                r.AddError(e.Message);
                return Evaluation.TtaMode.None;
            }
        },
    };

    public static Command Evaluate(CliIo io)
    {
        var dataDir = Common.DataDir();
        var json = Common.Json();
        var model = ModelOption();
        var testLimit = Common.Limit("--test-limit", "test");
        var tta = TtaOption();
        var split = new Option<string>("--split") { Description = "test, or validation (the run's own held-out split: use it to choose options such as --tta)", DefaultValueFactory = _ => "test" };
        split.AcceptOnlyFromAmong("test", "validation");
        var output = new Option<string?>("--out")
        {
            Description = "Folder for confusion.png and errors.png [default: the run folder, or the .onnx file's folder (its validation/ subfolder with --split validation); runs/ensemble for several models]",
        };
        var images = new Option<string?>("--images")
        {
            Description = "Evaluate on your own photos instead: a folder with one subfolder per class, named after it (tshirt-top, T-shirt_top, ankle-boot: case and punctuation ignored) or by its index 0-9 [default: none, the test split]",
        };
        var command = new Command("evaluate", "Accuracy, per-class precision/recall/F1, calibration (ECE, NLL, reliability.png), confusion.png and errors.png for a trained model or an ensemble")
            { dataDir, json, model, testLimit, tta, split, output, images };
        command.SetAction(parse =>
        {
            var photosDir = parse.GetValue(images);
            if (photosDir is not null && (parse.GetResult(split) is { Implicit: false } || parse.GetValue(testLimit) is not null))
                throw new UsageException("--images evaluates your photos; it cannot be combined with --split or --test-limit");
            var loaded = Common.Load(parse.GetValue(dataDir));
            bool validation = parse.GetValue(split) == "validation";
            var modelDirs = parse.GetValue(model)!;
            var outDir = parse.GetValue(output);
            if (outDir is null)
            {
                outDir = modelDirs.Length == 1 ? Classifiers.DefaultOutputFolder(modelDirs[0]) : Path.Combine("runs", "ensemble");
                if (validation) outDir = Path.Combine(outDir, "validation");
                if (photosDir is not null) outDir = Path.Combine(outDir, "photos");
            }
            EvaluationReport report;
            if (photosDir is not null)
                report = EvaluationWorkflow.EvaluatePhotos(modelDirs, photosDir, loaded.Data.Train, outDir, tta: parse.GetValue(tta));
            else
            {
                var test = validation ? EvaluationWorkflow.ValidationSet(modelDirs, loaded.Data.Train)
                    : loaded.Data.Test.Take(Common.Positive(parse.GetValue(testLimit), "--test-limit"));
                report = EvaluationWorkflow.Evaluate(modelDirs, test, outDir, tta: parse.GetValue(tta));
            }
            var m = report.Metrics;
            var cal = report.Calibration;
            if (parse.GetValue(json))
            {
                io.WriteJson(new EvaluateJson(
                    ModelDir: report.ModelDirs[0],
                    Models: report.ModelDirs,
                    Split: photosDir is null ? parse.GetValue(split) : "photos",
                    Images: photosDir,
                    Tta: Evaluation.Tta.Name(parse.GetValue(tta)),
                    Accuracy: m.Accuracy,
                    TestImages: report.TestImages,
                    PerClass: m.PerClass,
                    Confusion: m.ConfusionRows(),
                    ConfusionPng: report.ConfusionPng,
                    ErrorsPng: report.ErrorsPng,
                    Calibration: new EvaluateJson.CalibrationJson(
                        Temperature: cal.Temperature,
                        Fitted: cal.Note,
                        NllBefore: Math.Round(cal.Before.Nll, 6),
                        NllAfter: Math.Round(cal.After.Nll, 6),
                        EceBefore: Math.Round(cal.Before.Ece, 6),
                        EceAfter: Math.Round(cal.After.Ece, 6),
                        Bins: Trust.Calibration.Bins,
                        ReliabilityPng: cal.ReliabilityPng),
                    NotRecognized: report.NotRecognized), EvaluateJson.Schema);
                return 0;
            }
            var console = io.Human(false);
            var table = new Table().AddColumns("Class", "Precision", "Recall", "F1", "Support");
            foreach (var c in m.PerClass) table.AddRow(c.Class, $"{c.Precision:P1}", $"{c.Recall:P1}", $"{c.F1:P1}", c.Support.ToString("N0"));
            var what = photosDir is not null ? "Photo" : validation ? "Validation" : "Test";
            console.MarkupLineInterpolated($"[bold]{what} accuracy {m.Accuracy:P2}[/] on {report.TestImages:N0} images{(parse.GetValue(tta) is var t && t != Evaluation.TtaMode.None ? $" with {Evaluation.Tta.Name(t)} TTA ({Evaluation.Tta.Views(t).Count} views)" : "")} ({string.Join(" + ", report.ModelDirs)})");
            console.Write(table);
            console.MarkupLineInterpolated($"Calibration ({Trust.Calibration.Bins}-bin ECE, NLL): {cal.Before.Ece:P2}, {cal.Before.Nll:0.0000} at T = 1 -> {cal.After.Ece:P2}, {cal.After.Nll:0.0000} at T = {cal.Temperature:0.###} ({cal.Note})");
            if (report.NotRecognized is { } share)
                console.MarkupLineInterpolated($"Not recognized as a garment: {share:P1} of the photos");
            console.MarkupLineInterpolated($"wrote {report.ConfusionPng}, {report.ErrorsPng} and {cal.ReliabilityPng}");
            return 0;
        });
        return command;
    }

    public static Command Predict(CliIo io)
    {
        var dataDir = Common.DataDir();
        var json = Common.Json();
        var model = ModelOption();
        var files = new Argument<string[]>("photos") { Description = "PNG or JPEG photos of one garment each (any size; up to 40 MP), or folders searched recursively for them", Arity = ArgumentArity.OneOrMore };
        var tta = TtaOption();
        var format = new Option<string>("--format")
        {
            Description = "table (for people), csv or jsonl (one line per photo: file, top-3 with probabilities, recognized, reason)",
            DefaultValueFactory = _ => "table",
        };
        format.AcceptOnlyFromAmong("table", "csv", "jsonl");
        var command = new Command("predict", "Classify your own photos: top-3 classes with calibrated probabilities, and whether each is recognized as a garment at all (and if not, why)")
            { dataDir, json, model, files, tta, format };
        command.SetAction(parse =>
        {
            if (parse.GetValue(json) && parse.GetResult(format) is { Implicit: false })
                throw new UsageException("--json and --format: choose one output (--json writes one object, --format jsonl one line per photo)");
            var train = Common.Load(parse.GetValue(dataDir)).Data.Train;
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var run = EvaluationWorkflow.Predict(parse.GetValue(model)!, parse.GetValue(files)!, train, tta: parse.GetValue(tta));
            double seconds = watch.Elapsed.TotalSeconds;
            var predictions = run.Predictions;
            if (parse.GetValue(json))
            {
                io.WriteJson(new PredictJson(
                    Predictions: [.. predictions.Select(Row)],
                    Calibration: run.Calibration,
                    Photos: predictions.Count,
                    NotRecognized: predictions.Count(p => !p.Recognized),
                    Seconds: seconds), PredictJson.Schema);
                return 0;
            }
            switch (parse.GetValue(format))
            {
                case "jsonl":
                    foreach (var p in predictions) io.Stdout.WriteLine(System.Text.Json.JsonSerializer.Serialize(Row(p), JsonLine));
                    break;
                case "csv":
                    io.Stdout.WriteLine("file,class_1,probability_1,class_2,probability_2,class_3,probability_3,recognized,reason");
                    foreach (var p in predictions)
                        io.Stdout.WriteLine(string.Join(',', new[] { Csv(p.Name) }
                            .Concat(p.Top.SelectMany(t => new[] { Csv(t.Class), t.Probability.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture) }))
                            .Append(p.Recognized ? "true" : "false").Append(Csv(p.Reason ?? ""))));
                    break;
                default:
                    var console = io.Human(false);
                    var table = new Table().AddColumns("File", "1st", "2nd", "3rd", "Recognized");
                    foreach (var p in predictions)
                        table.AddRow(new[] { Markup.Escape(p.Name) }.Concat(p.Top.Select(t => Markup.Escape($"{t.Class} {t.Probability:P1}")))
                            .Append(p.Recognized ? "yes" : Markup.Escape($"no: {p.Reason}")).ToArray());
                    console.Write(table);
                    console.MarkupLineInterpolated($"Probabilities: {run.Calibration}.");
                    if (predictions.Any(p => !p.Recognized))
                        console.MarkupLine("Not recognized: the top-3 are shown, but the model was not made for such a photo. For a better answer, photograph one garment, flat or hanging, filling most of the frame, on a plain background.");
                    break;
            }
            io.Stderr.WriteLine($"{predictions.Count:N0} photo{(predictions.Count == 1 ? "" : "s")} in {seconds:F1} s ({predictions.Count / Math.Max(seconds, 1e-9):N0} photos/s, model and data loading included)");
            return 0;
        });
        return command;
    }

    private static readonly System.Text.Json.JsonSerializerOptions JsonLine = new(JsonFiles.Options) { WriteIndented = false };

    private static PredictJson.Prediction Row(Trust.JudgedPrediction p) => PredictJson.Prediction.Of(p);

    private static string Csv(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : $"\"{value.Replace("\"", "\"\"")}\"";

    public static Command Summary(CliIo io)
    {
        var json = Common.Json();
        var model = new Option<string?>("--model") { Description = "Summarize this run folder's model [default: the seed's best config, untrained]" };
        var hyper = new TrainOptions();
        var command = new Command("summary", "Layer table: layer, output shape, parameter count (like Keras' model.summary())") { json, model };
        foreach (var o in hyper.ModelOptions) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var modelDir = parse.GetValue(model);
            var config = modelDir is null ? hyper.Resolve(parse).Model : new RunFolder(modelDir).ReadInfo().Config.Model;
            TorchRuntime.Initialize();
            using var net = Models.ModelFactory.Create(config);
            var summary = Models.ModelSummary.Of(net, config);
            if (parse.GetValue(json))
            {
                io.WriteJson(new SummaryJson(
                    Layers: summary.Rows,
                    TotalParameters: summary.TotalParameters,
                    TrainableParameters: summary.TrainableParameters,
                    ForwardFlops: summary.ForwardFlops), SummaryJson.Schema);
                return 0;
            }
            var console = io.Human(false);
            var table = new Table().AddColumns("Layer", "Type", "Output shape", "Params");
            table.Columns[3].RightAligned();
            foreach (var r in summary.Rows) table.AddRow(r.Layer, Markup.Escape(r.Type), r.OutputShape, r.Parameters.ToString("N0"));
            console.Write(table);
            console.MarkupLineInterpolated($"Total params: {summary.TotalParameters:N0} (trainable {summary.TrainableParameters:N0}); forward {summary.ForwardFlops / 1e6:F1} MFLOP per image");
            return 0;
        });
        return command;
    }
}
