using Fmnist.Training;

namespace Fmnist.Ensembles;

/// <summary>What ensemble.json holds: the members' shared settings and where each member's run folder is.</summary>
/// <param name="Config">The settings every member trains with, but for its seed (member i: Seed + i - 1) and
/// the shared validation split (SplitSeed = the first member's seed).</param>
/// <param name="Members">Member run folders, relative to the ensemble folder (member-1, member-2, ...).</param>
internal sealed record EnsembleInfo(TrainConfig Config, IReadOnlyList<string> Members, DateTimeOffset Created)
{
    /// <summary>Member <paramref name="i"/>'s (0-based) settings.</summary>
    public TrainConfig MemberConfig(int i) => Config with { Seed = Config.Seed + i, SplitSeed = Config.SplitSeed ?? Config.Seed };
}

/// <summary>What ensemble-result.json holds once every member is trained and the average is scored.</summary>
/// <param name="Seconds">Training time summed over the members (their histories), whether they ran one after
/// another or side by side.</param>
/// <param name="WallSeconds">Wall time of the `train --ensemble` that finished the ensemble (members reused from
/// an earlier run count 0).</param>
internal sealed record EnsembleResult(string ModelDir, int Members, double? ValAccuracy, double TestAccuracy, double Seconds, double WallSeconds,
    int Parallel, IReadOnlyList<Experiments.RunResult> MemberResults);

/// <summary>
/// An ensemble's folder: ensemble.json, one ordinary run folder per member (member-1, ...), and
/// ensemble-result.json when complete. Every command that takes a model (evaluate, predict, export, serve)
/// takes this folder too and averages the members' probabilities.
/// </summary>
internal sealed class EnsembleFolder(string directory)
{
    public string Directory { get; } = Path.GetFullPath(directory);
    public string InfoPath => Path.Combine(Directory, "ensemble.json");
    public string ResultPath => Path.Combine(Directory, "ensemble-result.json");

    public static bool IsEnsemble(string directory) => File.Exists(Path.Combine(directory, "ensemble.json"));

    public static string MemberName(int i) => $"member-{i + 1}";

    public EnsembleInfo ReadInfo()
    {
        var info = JsonFiles.Read<EnsembleInfo>(InfoPath);
        if (info.Config is null || info.Members is null || info.Members.Count == 0)
            throw new FmnistException($"{InfoPath}: incomplete (settings or members missing)");
        foreach (var m in info.Members)
            if (Path.IsPathRooted(m) || m.Contains("..", StringComparison.Ordinal))
                throw new FmnistException($"{InfoPath}: member '{m}' must be a folder inside the ensemble");
        return info;
    }

    /// <summary>The members' run folders, full paths, in order.</summary>
    public IReadOnlyList<string> MemberDirs() => ReadInfo().Members.Select(m => Path.Combine(Directory, m)).ToList();

    public EnsembleResult? ReadResult() => File.Exists(ResultPath) ? JsonFiles.Read<EnsembleResult>(ResultPath) : null;
}
