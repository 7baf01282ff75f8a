using System.CommandLine;
using Fmnist.Explanations;
using Spectre.Console;

namespace Fmnist.Cli.Commands;

/// <summary>`explain`: a picture of why the model classified each photo as it did (see docs/trust.md).</summary>
internal static class ExplainCommand
{
    public const string DefaultOut = "explanations";

    public static Command Create(CliIo io)
    {
        var dataDir = Common.DataDir();
        var json = Common.Json();
        var model = ModelCommands.ModelOption();
        var files = new Argument<string[]>("photos") { Description = "PNG or JPEG photos of one garment each (any size; up to 40 MP), preprocessed as `predict` does", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "Folder for the figures, one NAME.why.png per photo (created if missing)", DefaultValueFactory = _ => DefaultOut };
        var neighbours = new Option<int>("--neighbours")
        {
            Description = $"Nearest training images shown, 0..{ExplainOptions.MaxNeighbours} (Hamming distance, pixel > 127, as `knn`); 0 shows none and skips loading the training set",
            DefaultValueFactory = _ => ExplainOptions.DefaultNeighbours,
        };
        var patch = new Option<int>("--patch") { Description = "Side in pixels of the square blacked out for the occlusion map", DefaultValueFactory = _ => OcclusionSettings.DefaultPatch };
        var stride = new Option<int>("--stride") { Description = "Step in pixels between the occluded squares (at most --patch)", DefaultValueFactory = _ => OcclusionSettings.DefaultStride };
        var command = new Command("explain", "Why the model said what it did: per photo a PNG with the image, an occlusion map (every model; Grad-CAM too for a TorchSharp run folder), the top 3 and the nearest training images")
            { dataDir, json, model, files, output, neighbours, patch, stride };
        command.SetAction(parse =>
        {
            int k = parse.GetValue(neighbours), side = parse.GetValue(patch), step = parse.GetValue(stride);
            if (k is < 0 or > ExplainOptions.MaxNeighbours) throw new UsageException($"--neighbours must be 0..{ExplainOptions.MaxNeighbours}, got {k}");
            if (side is < 1 or > Data.ImageShape.Side) throw new UsageException($"--patch must be 1..{Data.ImageShape.Side}, got {side}");
            if (step < 1 || step > side) throw new UsageException($"--stride must be 1..{side} (--patch), got {step}: a larger step leaves pixels uncovered");
            var options = new ExplainOptions(Neighbours: k, Occlusion: new OcclusionSettings(side, step));
            var outDir = parse.GetValue(output)!;
            if (File.Exists(outDir)) throw new UsageException($"--out {outDir}: is a file; give a folder");
            string? data = parse.GetValue(dataDir);
            var explained = ExplainWorkflow.Run(parse.GetValue(model)!, parse.GetValue(files)!, outDir,
                () => Common.Load(data).Data.Train, options);
            if (parse.GetValue(json))
            {
                io.WriteJson(new ExplainJson(
                    Models: parse.GetValue(model)!,
                    OutDir: outDir,
                    Files: explained.Select(x => x.Png),
                    Explanations: [.. explained.Select(x => new ExplainJson.Row(x.File, x.Png, x.Explanation.Class,
                        [.. x.Explanation.Top.Select(t => new ExplainJson.Score(t.Class, Math.Round(t.Probability, 6)))],
                        x.Recognized, x.Reason, x.Explanation.GradCam is not null,
                        [.. x.Explanation.Neighbours.Select(n => new ExplainJson.Neighbour(n.Index, n.Label, n.Class, n.Distance))]))]), ExplainJson.Schema);
                return 0;
            }
            var console = io.Human(false);
            var table = new Table().AddColumns("Photo", "Predicted", "Nearest training images", "Figure");
            foreach (var x in explained)
                table.AddRow(Markup.Escape(x.File), Markup.Escape($"{x.Explanation.Class} {x.Explanation.Top[0].Probability:P1}{(x.Recognized ? "" : $" (not recognized: {x.Reason})")}"),
                    Markup.Escape(string.Join(", ", x.Explanation.Neighbours.Take(3).Select(n => n.Class))), Markup.Escape(x.Png));
            console.Write(table);
            return 0;
        });
        return command;
    }
}
