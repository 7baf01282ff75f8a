using System.Text.Json;
using System.Text.Json.Serialization;
using Fmnist.Training;

namespace Fmnist.Experiments;

/// <summary>Names a trial's run folder.</summary>
public static class TrialNames
{
    private static readonly string[] InBaseName = ["batch_size", "dropout1", "dropout2", "lstm", "dense"];

    /// <summary>Folder name: for the CNN+LSTM the seed's five hyperparameters, e.g. b256-d0.4-0.5-lstm256-dense128,
    /// for the ResNet resnet-b128; then any other setting the trial changes (e.g. -learning_rate0.002), so trials
    /// never share a folder.</summary>
    public static string Of(TrainConfig c, ConfigOverrides? trial = null)
    {
        var name = c.Model.Arch == Models.CnnLstm.ModelArch.ResNet
            ? $"resnet-b{c.BatchSize}"
            : FormattableString.Invariant($"b{c.BatchSize}-d{c.Model.Dropout1}-{c.Model.Dropout2}-lstm{c.Model.Lstm}-dense{c.Model.Dense}");
        if (trial is null) return name;
        foreach (var (key, value) in JsonSerializer.SerializeToNode(trial, ConfigOverrides.Json)!.AsObject())
            if (value is not null && !InBaseName.Contains(key))
                name += $"-{key}{value.ToJsonString().Trim('"').Replace("[", "").Replace("]", "").Replace(',', '-')}"; // blocks [2,2,2] -> 2-2-2
        return name;
    }
}

/// <summary>
/// A sweep grid file: either a list of trials, or axes whose values are crossed (or both: the trials,
/// then the crossed axes), e.g. <c>{"trials":[{"batch_size":256,"lstm":128}]}</c> or
/// <c>{"axes":{"batch_size":[128,256],"lstm":[128,256]}}</c>. Optionally the preset the trials start
/// from (default seed) and settings shared by every trial, e.g. <c>{"preset":"best","base":{"epochs":8},...}</c>.
/// </summary>
public sealed record SweepGrid
{
    public string? Preset { get; init; }
    public ConfigOverrides? Base { get; init; }
    public IReadOnlyList<ConfigOverrides>? Trials { get; init; }
    public Dictionary<string, JsonElement[]>? Axes { get; init; }

    /// <summary>The configuration every trial starts from: the preset, then the grid's base settings.</summary>
    public TrainConfig BaseConfig() => (Base ?? new ConfigOverrides()).Apply(Presets.Get(Preset ?? "seed"));

    public static SweepGrid Load(string path)
    {
        if (!File.Exists(path)) throw new FmnistException($"{path}: grid file not found");
        SweepGrid grid;
        try
        {
            grid = JsonSerializer.Deserialize<SweepGrid>(File.ReadAllText(path), ConfigOverrides.Json)
                   ?? throw new FmnistException($"{path}: empty grid");
        }
        catch (JsonException e)
        {
            throw new FmnistException($"{path}: invalid grid ({e.Message.Split(". ")[0]})");
        }
        try
        {
            if (grid.Expand().Count == 0) throw new FmnistException("the grid has no trials");
            grid.BaseConfig();
        }
        catch (FmnistException e)
        {
            throw new FmnistException($"{path}: {e.Message}");
        }
        return grid;
    }

    /// <summary>The trials in file order, then the cross product of the axes, without duplicates.</summary>
    public IReadOnlyList<ConfigOverrides> Expand()
    {
        var list = new List<ConfigOverrides>(Trials ?? []);
        if (Axes is { Count: > 0 })
        {
            IEnumerable<ConfigOverrides> crossed = [new ConfigOverrides()];
            foreach (var (axis, values) in Axes)
                crossed = crossed.SelectMany(t => values.Select(v => t.Then(ConfigOverrides.With(axis, v)))).ToList();
            list.AddRange(crossed);
        }
        // By content: record equality compares arrays (blocks) by reference.
        return list.DistinctBy(o => JsonSerializer.Serialize(o, ConfigOverrides.Json)).ToList();
    }
}
