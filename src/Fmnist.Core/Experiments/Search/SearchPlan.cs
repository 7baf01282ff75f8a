using System.Text.Json;
using Fmnist.Training;

namespace Fmnist.Experiments.Search;

/// <param name="Index">0-based position in the search: what <c>--trial-index</c> and array task ids count.</param>
/// <param name="Changes">What the trial sets on top of the sweep's base configuration.</param>
internal sealed record PlannedTrial(int Index, string Name, ConfigOverrides Changes, TrainConfig Config);

/// <summary>
/// A sweep resolved to its trials: every trial's full configuration, the halving rungs, the test limit.
/// It is written to the sweep folder as search.json by whichever process comes first; every later
/// process (a worker, an array task, a collect) runs exactly these trials, or refuses a different search.
/// </summary>
internal sealed record SearchPlan(IReadOnlyList<PlannedTrial> Trials, Halving? Halving = null, int? TestLimit = null)
{
    public const string FileName = "search.json";

    public static SearchPlan Create(IReadOnlyList<ConfigOverrides> trials, TrainConfig baseConfig, Halving? halving = null, int? testLimit = null)
    {
        if (trials.Count == 0) throw new FmnistException("the search has no trials");
        var planned = new List<PlannedTrial>();
        foreach (var (changes, i) in trials.Select((t, i) => (t, i)))
        {
            var config = changes.Apply(baseConfig);
            var name = TrialNames.Of(config, changes);
            try
            {
                config.Validate();
                if (Training.Settings.Ignored(changes, config) is { } ignored) throw new FmnistException(ignored);
            }
            catch (FmnistException e)
            {
                throw new FmnistException($"trial {i} ({name}): {e.Message}");
            }
            if (!config.HasValidation)
                throw new FmnistException("a sweep picks its best trial by validation accuracy: the validation fraction must be above 0");
            planned.Add(new PlannedTrial(i, name, changes, config));
        }
        if (planned.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new FmnistException($"two trials would share the folder trials/{twice.Key}: they differ only in what the folder name leaves out");
        if (halving is not null)
        {
            var epochs = planned.Select(t => t.Config.Epochs).Distinct().ToList();
            if (epochs.Count > 1) throw new FmnistException($"successive halving compares trials at the same epochs: all trials need the same epochs (got {string.Join(", ", epochs)})");
            halving.Validate(epochs[0]);
        }
        if (testLimit is < 1) throw new FmnistException($"the test limit must be positive, got {testLimit}");
        return new SearchPlan(planned, halving, testLimit);
    }

    [System.Text.Json.Serialization.JsonIgnore]
    public int Stages => (Halving?.Rungs.Length ?? 0) + 1;

    /// <summary>The epoch each stage of a trial trains to: the rungs, then the trial's own epochs.</summary>
    public int StageEnd(PlannedTrial t, int stage) => stage < Stages - 1 ? Halving!.Rungs[stage] : t.Config.Epochs;

    public static string PathIn(string sweepDir) => Path.Combine(sweepDir, FileName);

    public string ToJson() => JsonSerializer.Serialize(this, ConfigOverrides.Json);

    /// <summary>The folder's plan, or null when it holds none yet.</summary>
    public static SearchPlan? Read(string sweepDir)
    {
        var path = PathIn(sweepDir);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<SearchPlan>(File.ReadAllText(path), ConfigOverrides.Json)
                   ?? throw new FmnistException($"{path}: empty search file");
        }
        catch (JsonException e)
        {
            throw new FmnistException($"{path}: invalid search file ({e.Message.Split(". ")[0]})");
        }
    }

    /// <summary>
    /// Writes search.json when the folder has none (exclusively: of several processes starting at once,
    /// one writes it and the others compare), or checks that the folder's is this search.
    /// </summary>
    public void Publish(string sweepDir)
    {
        var path = PathIn(sweepDir);
        Directory.CreateDirectory(sweepDir);
        if (!File.Exists(path))
        {
            var tmp = Path.Combine(sweepDir, $".{FileName}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
            File.WriteAllText(tmp, ToJson() + "\n");
            try
            {
                File.Move(tmp, path, overwrite: false); // link(2) then unlink: fails when another process was first
                return;
            }
            catch (IOException) when (File.Exists(path))
            {
            }
            finally
            {
                File.Delete(tmp);
            }
        }
        var existing = Read(sweepDir)!;
        if (existing.ToJson() != ToJson())
            throw new FmnistException($"{path}: the folder holds another search ({Describe(existing)}; this one: {Describe(this)}); use another --out, or the same file and options");
    }

    private static string Describe(SearchPlan p) =>
        $"{p.Trials.Count} trials, first {p.Trials[0].Name}, {p.Trials[0].Config.Epochs} epochs" + (p.Halving is { } h ? $", rungs [{string.Join(", ", h.Rungs)}]" : "");
}
