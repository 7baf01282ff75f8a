using System.Text.Json;
using System.Text.Json.Serialization;
using Fmnist.Experiments.Search;
using Fmnist.Training;

namespace Fmnist.Experiments;

/// <summary>
/// A sweep file: a list of trials, axes whose values are crossed, a space to sample trials from, or any of
/// them together (the trials, then the crossed axes, then the samples), e.g.
/// <c>{"trials":[{"batch_size":256,"epochs":12}]}</c>, <c>{"axes":{"batch_size":[128,256],"epochs":[10,20]}}</c> or
/// <c>{"space":{"learning_rate":{"log_uniform":[0.0003,0.003]},"batch_size":{"choice":[128,256,512]}},"samples":16}</c>
/// (distributions: <see cref="Distribution"/>). Optionally the preset the trials start from (default seed),
/// settings shared by every trial (<c>"base":{"epochs":8}</c>), the sampler's seed (<c>"sampler_seed"</c>,
/// default 1) and successive halving (<c>"halving":{"rungs":[1,3],"eta":3}</c>, see <see cref="Halving"/>).
/// </summary>
internal sealed record SweepGrid
{
    public string? Preset { get; init; }
    public ConfigOverrides? Base { get; init; }
    public IReadOnlyList<ConfigOverrides>? Trials { get; init; }
    public Dictionary<string, JsonElement[]>? Axes { get; init; }
    public Dictionary<string, JsonElement>? Space { get; init; }

    /// <summary>How many trials to sample from <see cref="Space"/> (the command line's --trials overrides it).</summary>
    public int? Samples { get; init; }

    public int? SamplerSeed { get; init; }
    public Halving? Halving { get; init; }

    public const int DefaultSamplerSeed = 1;

    /// <summary>The configuration every trial starts from: the preset, then the grid's base settings.</summary>
    public TrainConfig BaseConfig() => (Base ?? new ConfigOverrides()).Apply(Presets.Get(Preset ?? "seed"));

    public static SweepGrid Load(string path)
    {
        if (!File.Exists(path)) throw new FmnistException($"{path}: grid file not found");
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>The seed's 8-row grid (configs/seed-grid.json, embedded so an installed tool carries it).</summary>
    public static SweepGrid Seed()
    {
        using var stream = typeof(SweepGrid).Assembly.GetManifestResourceStream(SeedGridResource)
                           ?? throw new InvalidOperationException($"{SeedGridResource} is not embedded");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd(), "the seed grid");
    }

    internal const string SeedGridResource = "Fmnist.seed-grid.json";

    private static SweepGrid Parse(string text, string path)
    {
        SweepGrid grid;
        try
        {
            grid = JsonSerializer.Deserialize<SweepGrid>(text, ConfigOverrides.Json)
                   ?? throw new FmnistException($"{path}: empty grid");
        }
        catch (JsonException e)
        {
            throw new FmnistException($"{path}: invalid grid ({e.Message.Split(". ")[0]})");
        }
        catch (FmnistException e) // a setting's name or value, refused by ConfigOverrides
        {
            throw new FmnistException($"{path}: {e.Message}");
        }
        try
        {
            grid.Halving?.Validate(int.MaxValue); // against the epochs once the command line has set them
            if (grid.Space is not null) SearchSpace.Parse(grid.Space);
            else if (grid.Samples is not null) throw new FmnistException("\"samples\" needs a \"space\" to sample from");
            if (grid.Space is null && grid.Expand().Count == 0) throw new FmnistException("the grid has no trials");
            grid.BaseConfig();
        }
        catch (FmnistException e)
        {
            throw new FmnistException($"{path}: {e.Message}");
        }
        return grid;
    }

    /// <summary>
    /// Every trial: the listed ones, the cross product of the axes, then <paramref name="samples"/> (default:
    /// the file's) drawn from the space with <paramref name="samplerSeed"/> (default: the file's, else 1).
    /// </summary>
    public IReadOnlyList<ConfigOverrides> AllTrials(int? samples = null, int? samplerSeed = null)
    {
        var listed = Expand();
        if (Space is null)
        {
            if (samples is not null) throw new FmnistException("the number of trials to sample needs a \"space\" in the sweep file");
            return listed;
        }
        int count = samples ?? Samples ?? throw new FmnistException("the space needs a number of trials: \"samples\" in the file, or --trials");
        return [.. listed, .. SearchSpace.Parse(Space).Sample(count, samplerSeed ?? SamplerSeed ?? DefaultSamplerSeed, listed)];
    }

    /// <summary>The trials in file order, then the cross product of the axes, without duplicates.</summary>
    public IReadOnlyList<ConfigOverrides> Expand()
    {
        var list = new List<ConfigOverrides>(Trials ?? []);
        if (Axes is { Count: > 0 })
        {
            IEnumerable<ConfigOverrides> crossed = [new ConfigOverrides()];
            foreach (var (axis, values) in Axes)
                crossed = crossed.SelectMany(t => values.Select(v => t.Then(ConfigOverrides.Parse(axis, v)))).ToList();
            list.AddRange(crossed);
        }
        return list.Distinct().ToList(); // ConfigOverrides compare by content
    }
}
