using System.CommandLine;
using Fmnist.Data;
using Spectre.Console;

namespace Fmnist.Cli.Commands;

internal static class DataCommand
{
    public static Command Create(CliIo io)
    {
        var dataDir = Common.DataDir();
        var json = Common.Json();
        var preview = new Option<string?>("--preview") { Description = "Also write a PNG grid of example images per class to this file" };
        var perClass = new Option<int>("--per-class") { Description = "Images per class in the preview", DefaultValueFactory = _ => 10 };
        var command = new Command("data", "Find (or download) the dataset, check it, and report counts and checksums") { dataDir, json, preview, perClass };
        command.SetAction(parse =>
        {
            bool asJson = parse.GetValue(json);
            var previewPath = parse.GetValue(preview);
            if (previewPath is not null) Common.CheckOutputFile(previewPath, "--preview", "preview.png");
            var loaded = Common.Load(parse.GetValue(dataDir), new Progress<string>(m => io.Stderr.WriteLine(m)));
            var sums = DataFiles.Checksums(loaded.Location.Directory);
            if (previewPath is not null)
            {
                int n = parse.GetValue(perClass);
                if (n is < 1 or > 50) throw new UsageException($"--per-class must be 1..50, got {n}");
                Reports.Plots.SavePreviewByClass(loaded.Data.Train.Images, loaded.Data.Train.Labels, ClassNames.All, n, previewPath);
            }
            int[] trainCounts = loaded.Data.Train.ClassCounts(), testCounts = loaded.Data.Test.ClassCounts();
            var result = new DataJson(
                Directory: loaded.Location.Directory,
                Source: loaded.Location.Source,
                Train: loaded.Data.Train.Count,
                Test: loaded.Data.Test.Count,
                Classes: [.. ClassNames.All.Select((name, c) => new DataJson.ClassCount(c, name, trainCounts[c], testCounts[c]))],
                Checksums: [.. sums.Select(s => new DataJson.Checksum(s.File, s.Md5, s.ContentMd5, s.Official, s.OfficialContent))],
                Official: sums.Count == DataFiles.Official.Count && sums.All(s => s.OfficialContent),
                LoadSeconds: loaded.Seconds,
                Preview: previewPath);
            if (asJson)
            {
                io.WriteJson(result, DataJson.Schema);
                return 0;
            }
            var console = io.Human(false);
            console.MarkupLineInterpolated($"Data: [bold]{loaded.Location.Directory}[/] (found via {loaded.Location.Source}), loaded in {loaded.Seconds:F2} s");
            var table = new Table().AddColumns("Label", "Class", "Train", "Test");
            foreach (var c in result.Classes) table.AddRow(c.Label.ToString(), c.Name, c.Train.ToString("N0"), c.Test.ToString("N0"));
            table.AddRow("", "[bold]total[/]", result.Train.ToString("N0"), result.Test.ToString("N0"));
            console.Write(table);
            foreach (var s in sums)
                console.MarkupLineInterpolated($"{Path.GetFileName(s.File),-28} md5 {s.Md5}  {Verdict(s)}");
            if (previewPath is not null) console.MarkupLineInterpolated($"Preview written to {previewPath}");
            return 0;
        });
        return command;
    }

    private static string Verdict(DataFiles.ChecksumStatus s) =>
        s.Official ? "official Fashion-MNIST file"
        : s.OfficialContent ? $"official Fashion-MNIST content, recompressed (content md5 {s.ContentMd5})"
        : "not Fashion-MNIST (other IDX data)";
}
