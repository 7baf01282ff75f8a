using System.Globalization;
using System.Text.Json;
using Fmnist.Training;

namespace Fmnist.Experiments.Search;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood 2014): a fixed, published generator, so a search file and a sampler
/// seed give the same trials on every machine and .NET version (System.Random's seeded sequence is not
/// promised to stay the same between versions).
/// </summary>
internal sealed class SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1), 53 random bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));
}

/// <summary>
/// How one setting is drawn: <c>{"uniform":[a,b]}</c> or <c>{"log_uniform":[a,b]}</c> reals, rounded to 3
/// significant digits so that trial names and config files stay readable; <c>{"int":[a,b]}</c> or
/// <c>{"log_int":[a,b]}</c> integers, both bounds included; <c>{"choice":[v1,v2,...]}</c> one of the values.
/// </summary>
internal sealed record Distribution(string Setting, string Kind, double Low, double High, IReadOnlyList<JsonElement> Choices)
{
    public static readonly IReadOnlyList<string> Kinds = ["uniform", "log_uniform", "int", "log_int", "choice"];

    public static Distribution Parse(string setting, JsonElement spec)
    {
        if (spec.ValueKind != JsonValueKind.Object || spec.EnumerateObject().Count() != 1)
            throw new FmnistException($"space '{setting}': give one of {string.Join(", ", Kinds)}, e.g. {{\"log_uniform\": [0.0001, 0.01]}}");
        var (kind, value) = spec.EnumerateObject().Select(p => (p.Name, p.Value)).Single();
        if (!Kinds.Contains(kind)) throw new FmnistException($"space '{setting}': unknown distribution '{kind}' (known: {string.Join(", ", Kinds)})");
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
            throw new FmnistException($"space '{setting}': {kind} takes a list");
        var items = value.EnumerateArray().Select(e => e.Clone()).ToList();
        Distribution d;
        if (kind == "choice")
            d = new Distribution(setting, kind, 0, 0, items);
        else
        {
            if (items.Count != 2 || items.Any(e => e.ValueKind != JsonValueKind.Number))
                throw new FmnistException($"space '{setting}': {kind} takes two numbers [low, high]");
            double lo = items[0].GetDouble(), hi = items[1].GetDouble();
            if (!(lo < hi)) throw new FmnistException($"space '{setting}': {kind} needs low < high, got [{lo}, {hi}]");
            if (kind.StartsWith("log") && lo <= 0) throw new FmnistException($"space '{setting}': {kind} needs a positive low bound, got {lo}");
            if (kind.EndsWith("int") && (lo != Math.Floor(lo) || hi != Math.Floor(hi)))
                throw new FmnistException($"space '{setting}': {kind} takes whole numbers, got [{lo}, {hi}]");
            d = new Distribution(setting, kind, lo, hi, []);
        }
        // Every value it can draw must be one the setting takes: checked now, not in trial 12.
        foreach (var edge in d.Edges()) ConfigOverrides.Parse(setting, edge);
        if (kind is "uniform" or "log_uniform")
        {
            try
            {
                ConfigOverrides.Parse(setting, Number(0.5));
            }
            catch (FmnistException)
            {
                throw new FmnistException($"space '{setting}': {setting} takes whole numbers; use int or log_int");
            }
        }
        return d;
    }

    public JsonElement Draw(SplitMix64 rng)
    {
        double u = rng.NextDouble();
        return Kind switch
        {
            "choice" => Choices[(int)(u * Choices.Count)],
            "uniform" => Number(Round3(Low + u * (High - Low))),
            "log_uniform" => Number(Round3(Math.Exp(Math.Log(Low) + u * (Math.Log(High) - Math.Log(Low))))),
            "int" => Number(Math.Min(High, Low + Math.Floor(u * (High - Low + 1)))),
            _ => Number(Math.Clamp(Math.Floor(Math.Exp(Math.Log(Low) + u * (Math.Log(High + 1) - Math.Log(Low)))), Low, High)), // log_int
        };
    }

    private IEnumerable<JsonElement> Edges() => Kind == "choice" ? Choices : [Number(Low), Number(High)];

    private double Round3(double v) => Math.Clamp(double.Parse(v.ToString("G3", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture), Low, High);

    private static JsonElement Number(double v) =>
        v == Math.Floor(v) && Math.Abs(v) < 1e15 ? JsonSerializer.SerializeToElement((long)v) : JsonSerializer.SerializeToElement(v);
}

/// <summary>A sweep file's "space": settings drawn independently for each sampled trial.</summary>
internal sealed class SearchSpace
{
    private readonly IReadOnlyList<Distribution> _settings;

    private SearchSpace(IReadOnlyList<Distribution> settings) => _settings = settings;

    public IReadOnlyList<string> Settings => _settings.Select(d => d.Setting).ToList();

    public static SearchSpace Parse(IReadOnlyDictionary<string, JsonElement> space)
    {
        if (space.Count == 0) throw new FmnistException("the space names no setting");
        return new SearchSpace(space.Select(kv => Distribution.Parse(kv.Key, kv.Value)).ToList());
    }

    /// <summary>
    /// <paramref name="count"/> trials. Trial i draws from its own generator, seeded by (seed, i), so a longer
    /// search starts with the trials of a shorter one. A draw equal to an earlier trial (or to one of
    /// <paramref name="taken"/>, the file's listed trials) is drawn again.
    /// </summary>
    public IReadOnlyList<ConfigOverrides> Sample(int count, int seed, IEnumerable<ConfigOverrides> taken)
    {
        if (count < 1) throw new FmnistException($"the number of sampled trials must be positive, got {count}");
        var seen = new HashSet<string>(taken.Select(Key));
        var trials = new List<ConfigOverrides>();
        for (int i = 0; i < count; i++)
        {
            var rng = new SplitMix64(((ulong)(uint)seed << 32) | (uint)i);
            for (int attempt = 0; ; attempt++)
            {
                var trial = _settings.Aggregate(new ConfigOverrides(), (t, d) => t.Then(ConfigOverrides.Parse(d.Setting, d.Draw(rng))));
                if (seen.Add(Key(trial)))
                {
                    trials.Add(trial);
                    break;
                }
                if (attempt == 1000) throw new FmnistException($"the space holds fewer than {count} distinct trials (found {trials.Count}); ask for fewer or widen it");
            }
        }
        return trials;
    }

    public static string Key(ConfigOverrides o) => JsonSerializer.Serialize(o, ConfigOverrides.Json);
}
