using System.CommandLine;
using System.Diagnostics;
using Fmnist.Data;

namespace Fmnist.Cli.Commands;

/// <summary>Options every subcommand takes, and data loading shared by them.</summary>
internal static class Common
{
    public static Option<string?> DataDir() => new("--data-dir")
    {
        Description = "Folder with the four IDX files (gzip or raw). Default: $FASHION_MNIST_DIR, then "
                      + "~/.cache/fmnist/fashion-mnist, then /usr/share/datasets/fashion-mnist; downloaded when none has them",
    };

    public static Option<bool> Json() => new("--json")
    {
        Description = "Print one JSON object on stdout and nothing else there [default: False]",
    };

    public static Option<int?> Limit(string name, string what) => new(name)
    {
        Description = $"Use only the first N {what} images [default: all]",
    };

    public sealed record Loaded(Dataset Data, DataLocation Location, double Seconds);

    public static Loaded Load(string? dataDir, IProgress<string>? progress = null)
    {
        var watch = Stopwatch.StartNew();
        var location = new DataLocator().Locate(dataDir, progress);
        var data = DataFiles.Load(location.Directory);
        return new Loaded(data, location, watch.Elapsed.TotalSeconds);
    }

    /// <summary>An output file must go into a folder that exists and must not be a folder itself.</summary>
    public static void CheckOutputFile(string path, string option)
    {
        if (Directory.Exists(path)) throw new UsageException($"{option} {path}: is a folder; give a file name");
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null && !Directory.Exists(dir)) throw new UsageException($"{option} {path}: folder {dir} does not exist");
    }

    public static int Positive(int? value, string option)
    {
        if (value is null) return int.MaxValue;
        if (value <= 0) throw new UsageException($"{option} must be a positive number, got {value}");
        return value.Value;
    }
}
