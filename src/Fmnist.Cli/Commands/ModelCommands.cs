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
    public static Option<string[]> ModelOption() => new("--model")
    {
        Description = "Run folder holding config.json and model.pt (e.g. runs/seed-headline or runs/sweep/best_model), or an .onnx file from `fmnist export`; repeat it to average several models' probabilities (an ensemble)",
        Required = true,
        Arity = ArgumentArity.OneOrMore,
    };

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
        var command = new Command("evaluate", "Accuracy, per-class precision/recall/F1, confusion.png and errors.png for a trained model or an ensemble")
            { dataDir, json, model, testLimit, tta, split, output };
        command.SetAction(parse =>
        {
            var loaded = Common.Load(parse.GetValue(dataDir));
            bool validation = parse.GetValue(split) == "validation";
            var modelDirs = parse.GetValue(model)!;
            var test = validation ? EvaluationWorkflow.ValidationSet(modelDirs, loaded.Data.Train)
                : loaded.Data.Test.Take(Common.Positive(parse.GetValue(testLimit), "--test-limit"));
            var outDir = parse.GetValue(output);
            if (outDir is null)
            {
                outDir = modelDirs.Length == 1 ? Classifiers.DefaultOutputFolder(modelDirs[0]) : Path.Combine("runs", "ensemble");
                if (validation) outDir = Path.Combine(outDir, "validation");
            }
            var report = EvaluationWorkflow.Evaluate(modelDirs, test, outDir, tta: parse.GetValue(tta));
            var m = report.Metrics;
            if (parse.GetValue(json))
            {
                io.WriteJson(new
                {
                    model_dir = report.ModelDirs[0],
                    models = report.ModelDirs,
                    split = parse.GetValue(split),
                    tta = Evaluation.Tta.Name(parse.GetValue(tta)),
                    accuracy = m.Accuracy,
                    test_images = report.TestImages,
                    per_class = m.PerClass.Select(c => new { @class = c.Class, precision = c.Precision, recall = c.Recall, f1 = c.F1, support = c.Support }),
                    confusion = m.ConfusionRows(),
                    confusion_png = report.ConfusionPng,
                    errors_png = report.ErrorsPng,
                });
                return 0;
            }
            var console = io.Human(false);
            var table = new Table().AddColumns("Class", "Precision", "Recall", "F1", "Support");
            foreach (var c in m.PerClass) table.AddRow(c.Class, $"{c.Precision:P1}", $"{c.Recall:P1}", $"{c.F1:P1}", c.Support.ToString("N0"));
            var what = validation ? "Validation" : "Test";
            console.MarkupLineInterpolated($"[bold]{what} accuracy {m.Accuracy:P2}[/] on {report.TestImages:N0} images{(parse.GetValue(tta) is var t && t != Evaluation.TtaMode.None ? $" with {Evaluation.Tta.Name(t)} TTA ({Evaluation.Tta.Views(t).Count} views)" : "")} ({string.Join(" + ", report.ModelDirs)})");
            console.Write(table);
            console.MarkupLineInterpolated($"wrote {report.ConfusionPng} and {report.ErrorsPng}");
            return 0;
        });
        return command;
    }

    public static Command Predict(CliIo io)
    {
        var json = Common.Json();
        var model = ModelOption();
        var files = new Argument<string[]>("files") { Description = "PNG or JPEG photos of one garment each (any size; up to 40 MP)", Arity = ArgumentArity.OneOrMore };
        var tta = TtaOption();
        var command = new Command("predict", "Classify your own photos: top-3 classes with probabilities (averaged over the models when several)") { json, model, files, tta };
        command.SetAction(parse =>
        {
            var predictions = EvaluationWorkflow.Predict(parse.GetValue(model)!, parse.GetValue(files)!, tta: parse.GetValue(tta));
            if (parse.GetValue(json))
            {
                io.WriteJson(new
                {
                    predictions = predictions.Select(p => new
                    {
                        file = p.File,
                        top = p.Top.Select(t => new { @class = t.Class, probability = Math.Round(t.Probability, 6) }),
                    }),
                });
                return 0;
            }
            var console = io.Human(false);
            var table = new Table().AddColumns("File", "1st", "2nd", "3rd");
            foreach (var p in predictions)
                table.AddRow(new[] { Markup.Escape(p.File) }.Concat(p.Top.Select(t => Markup.Escape($"{t.Class} {t.Probability:P1}"))).ToArray());
            console.Write(table);
            return 0;
        });
        return command;
    }

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
            var summary = ModelSummary.Of(net, config);
            if (parse.GetValue(json))
            {
                io.WriteJson(new
                {
                    layers = summary.Rows.Select(r => new { layer = r.Layer, type = r.Type, output_shape = r.OutputShape, parameters = r.Parameters }),
                    total_parameters = summary.TotalParameters,
                    trainable_parameters = summary.TrainableParameters,
                    forward_flops = summary.ForwardFlops,
                });
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
