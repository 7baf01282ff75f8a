using System.Text.Json;
using System.Text.Json.Serialization;
using Fmnist.Training;

namespace Fmnist.Experiments;

/// <summary>One row of a sweep: the seed's five hyperparameters; unset fields keep the base config's values.</summary>
public sealed record TrialSpec
{
    public int? BatchSize { get; init; }
    public double? Dropout1 { get; init; }
    public double? Dropout2 { get; init; }
    public int? Lstm { get; init; }
    public int? Dense { get; init; }

    public TrainConfig Apply(TrainConfig c) => c with
    {
        BatchSize = BatchSize ?? c.BatchSize,
        Model = c.Model with
        {
            Dropout1 = Dropout1 ?? c.Model.Dropout1,
            Dropout2 = Dropout2 ?? c.Model.Dropout2,
            Lstm = Lstm ?? c.Model.Lstm,
            Dense = Dense ?? c.Model.Dense,
        },
    };

    /// <summary>Folder name, e.g. b256-d0.4-0.5-lstm256-dense128.</summary>
    public static string Name(TrainConfig c) => FormattableString.Invariant(
        $"b{c.BatchSize}-d{c.Model.Dropout1}-{c.Model.Dropout2}-lstm{c.Model.Lstm}-dense{c.Model.Dense}");
}

/// <summary>
/// A sweep grid file: either a list of trials, or axes whose values are crossed (or both: the trials,
/// then the crossed axes), e.g. <c>{"trials":[{"batch_size":256,"lstm":128}]}</c> or
/// <c>{"axes":{"batch_size":[128,256],"lstm":[128,256]}}</c>.
/// </summary>
public sealed record SweepGrid
{
    public IReadOnlyList<TrialSpec>? Trials { get; init; }
    public Dictionary<string, JsonElement[]>? Axes { get; init; }

    private static readonly string[] Known = ["batch_size", "dropout1", "dropout2", "lstm", "dense"];

    public static SweepGrid Load(string path)
    {
        if (!File.Exists(path)) throw new FmnistException($"{path}: grid file not found");
        SweepGrid grid;
        try
        {
            var options = new JsonSerializerOptions(JsonFiles.Options) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };
            grid = JsonSerializer.Deserialize<SweepGrid>(File.ReadAllText(path), options)
                   ?? throw new FmnistException($"{path}: empty grid");
        }
        catch (JsonException e)
        {
            throw new FmnistException($"{path}: invalid grid ({e.Message.Split(". ")[0]})");
        }
        foreach (var axis in grid.Axes?.Keys ?? Enumerable.Empty<string>())
            if (!Known.Contains(axis)) throw new FmnistException($"{path}: unknown axis '{axis}' (known: {string.Join(", ", Known)})");
        if (grid.Expand().Count == 0) throw new FmnistException($"{path}: the grid has no trials");
        return grid;
    }

    /// <summary>The trials in file order, then the cross product of the axes, without duplicates.</summary>
    public IReadOnlyList<TrialSpec> Expand()
    {
        var list = new List<TrialSpec>(Trials ?? []);
        if (Axes is { Count: > 0 })
        {
            IEnumerable<TrialSpec> crossed = [new TrialSpec()];
            foreach (var (axis, values) in Axes)
                crossed = crossed.SelectMany(t => values.Select(v => With(t, axis, v))).ToList();
            list.AddRange(crossed);
        }
        return list.Distinct().ToList();
    }

    private static TrialSpec With(TrialSpec t, string axis, JsonElement v) => axis switch
    {
        "batch_size" => t with { BatchSize = v.GetInt32() },
        "dropout1" => t with { Dropout1 = v.GetDouble() },
        "dropout2" => t with { Dropout2 = v.GetDouble() },
        "lstm" => t with { Lstm = v.GetInt32() },
        "dense" => t with { Dense = v.GetInt32() },
        _ => throw new FmnistException($"unknown axis '{axis}'"),
    };
}
