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

    /// <summary>`--test-limit` and kin: refused before any work unless a positive count (0 would score nothing and
    /// report 0 %).</summary>
    public static Option<int?> Limit(string name, string what) => new(name)
    {
        Description = $"Use only the first N {what} images [default: all]",
        Validators = { r => { if (r.GetValueOrDefault<int?>() is int n && n < 1) r.AddError($"{name} must be at least 1, got {n}"); } },
    };

    /// <summary>`--threads`: libtorch's intra-op threads, set before anything loads libtorch.</summary>
    public static Option<int?> Threads() => new("--threads")
    {
        Description = $"Threads libtorch computes with [default: all cores, here {Environment.ProcessorCount}]",
        Validators = { r => { if (r.GetValueOrDefault<int?>() is < 1) r.AddError("--threads must be at least 1"); } },
    };

    /// <summary>Applies `--threads` (when given) before libtorch is first used.</summary>
    public static void ApplyThreads(ParseResult parse, Option<int?> threads)
    {
        if (parse.GetValue(threads) is { } t) Training.TorchRuntime.Initialize(t);
    }

    /// <summary>`--kernel`: the KNN compare loop; auto picks the widest this CPU (and .NET's settings) allow.</summary>
    public static Option<Models.Knn.SearchKernel> KnnKernel()
    {
        var option = new Option<Models.Knn.SearchKernel>("--kernel")
        {
            Description = $"KNN kernel: auto, avx512, avx2 or scalar; auto takes the widest this CPU offers (here: {Models.Knn.HammingSearch.Name(Models.Knn.HammingSearch.Supported[0])}) [default: auto]",
        }; // no DefaultValueFactory: Auto is the enum's default, and help would print the default twice
        option.AcceptOnlyFromAmong("auto", "avx512", "avx2", "scalar");
        return option;
    }

    public sealed record Loaded(Dataset Data, DataLocation Location, double Seconds);

    public static Loaded Load(string? dataDir, IProgress<string>? progress = null)
    {
        var watch = Stopwatch.StartNew();
        var location = new DataLocator().Locate(dataDir, progress);
        var data = DataFiles.Load(location.Directory);
        return new Loaded(data, location, watch.Elapsed.TotalSeconds);
    }

    /// <summary>The core's check of an output file (<see cref="AtomicFile.CheckTarget"/>), its message led by the option.</summary>
    public static void CheckOutputFile(string path, string option, string? suggestedName = null)
    {
        try
        {
            AtomicFile.CheckTarget(path, suggestedName);
        }
        catch (FmnistException e)
        {
            throw new UsageException($"{option} {e.Message}");
        }
    }

    /// <summary>
    /// An option's old name, kept hidden so that using it gets a one-line pointer to the new one instead of "unrecognized"
    /// (one word means one thing in every command: --steps counts steps, --max-batch is a forward pass, --file names a file).
    /// </summary>
    public static Option<string?> Renamed(string old, string now, string meaning) => new(old)
    {
        Hidden = true,
        Arity = ArgumentArity.ZeroOrOne,
        Validators = { r => r.AddError($"{old} is now {now} ({meaning})") },
    };

    /// <summary>Said by every list option's help: lists are taken one way in every command.</summary>
    public const string ListForm = "comma-separated, or the option repeated";

    /// <summary>
    /// A list-valued option, taken one way in every command: comma-separated, and the option may be repeated
    /// (`--k 1,4 --k 9` is `--k 1,4,9`). <paramref name="parse"/> gets the items joined by commas, so a core parser
    /// of "2,2,2" keeps its own checks and messages. With <paramref name="paths"/>, a value naming an existing
    /// file or folder is one item even if its name holds a comma. The default lives in the description, applied
    /// by the caller when the option is absent (null): a DefaultValueFactory would print it a second time.
    /// </summary>
    public static Option<T?> List<T>(string name, string description, Func<string, T> parse, string helpName, bool paths = false) => new(name)
    {
        Description = description,
        HelpName = helpName,
        Arity = ArgumentArity.OneOrMore,
        CustomParser = r =>
        {
            var items = Items(r.Tokens.Select(t => t.Value), paths);
            if (items.Count == 0)
            {
                r.AddError($"{name} needs at least one value");
                return default;
            }
            try
            {
                return parse(string.Join(',', items));
            }
            catch (FmnistException e)
            {
                r.AddError(e.Message.StartsWith(name, StringComparison.Ordinal) ? e.Message : $"{name}: {e.Message}");
                return default;
            }
        },
    };

    /// <summary>The items of a list option's tokens: each token split at commas (unless it names an existing path).</summary>
    public static List<string> Items(IEnumerable<string> tokens, bool paths = false) =>
        tokens.SelectMany(t => paths && Path.Exists(t) ? [t] : t.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToList();

    public static int Positive(int? value, string option)
    {
        if (value is null) return int.MaxValue;
        if (value <= 0) throw new UsageException($"{option} must be a positive number, got {value}");
        return value.Value;
    }
}
