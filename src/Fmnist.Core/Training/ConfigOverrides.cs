using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Fmnist.Training;

/// <summary>
/// Changes to a <see cref="TrainConfig"/>: the settings (<see cref="Settings"/>) the user set, each with its value;
/// unset ones keep the base value. The one place where a preset meets what the user set, whether from command-line
/// options, a sweep trial or a grid axis. As JSON, an object of setting names and values.
/// </summary>
[JsonConverter(typeof(ConfigOverridesJson))]
internal sealed class ConfigOverrides : IEquatable<ConfigOverrides>
{
    // In the order of Settings.All, so that equal overrides write equal JSON.
    private readonly IReadOnlyList<(Setting Setting, object Value)> _set;

    public ConfigOverrides() => _set = [];

    private ConfigOverrides(IEnumerable<(Setting, object)> set) =>
        _set = set.OrderBy(x => Settings.Index(x.Item1)).ToList();

    /// <summary>The settings set, with their values, in the order of <see cref="Settings.All"/>.</summary>
    public IReadOnlyList<(Setting Setting, object Value)> Set => _set;

    /// <summary>Whether the setting called <paramref name="name"/> is set.</summary>
    public bool Has(string name) => _set.Any(x => x.Setting.Is(name));

    /// <summary>The value of the setting called <paramref name="name"/>, or default when it is not set (ask for a
    /// nullable type, e.g. <c>Value&lt;double?&gt;("ema")</c>, to tell unset from zero).</summary>
    public T? Value<T>(string name) => _set.FirstOrDefault(x => x.Setting.Is(name)) is ({ } _, var v) ? (T)v : default;

    /// <summary>These overrides with the setting called <paramref name="name"/> at <paramref name="value"/>; a null value
    /// changes nothing (an option not given).</summary>
    public ConfigOverrides With(string name, object? value)
    {
        if (value is null) return this;
        var setting = Settings.Find(name);
        return new([.. _set.Where(x => x.Setting != setting), (setting, setting.Coerce(value))]);
    }

    /// <summary>Overrides from name-value pairs, for code and tests: <c>Of(("batch_size", 64), ("epochs", 3))</c>.</summary>
    public static ConfigOverrides Of(params (string Name, object Value)[] values) =>
        values.Aggregate(new ConfigOverrides(), (o, v) => o.With(v.Name, v.Value));

    /// <summary>One setting from a JSON value (a grid axis); unknown names and wrong types are refused.</summary>
    public static ConfigOverrides Parse(string name, JsonElement value)
    {
        var setting = Settings.Find(name);
        return new([(setting, setting.FromJson(JsonNode.Parse(value.GetRawText())))]);
    }

    /// <summary><paramref name="c"/> with every set setting applied.</summary>
    public TrainConfig Apply(TrainConfig c) => _set.Aggregate(c, (config, x) => x.Setting.Apply(config, x.Value));

    /// <summary>These overrides, then <paramref name="later"/>'s set settings on top.</summary>
    public ConfigOverrides Then(ConfigOverrides later) =>
        new([.. _set.Where(x => !later._set.Any(l => l.Setting == x.Setting)), .. later._set]);

    /// <summary>The names grid and search files may use.</summary>
    public static IReadOnlyList<string> Names => Settings.All.Select(s => s.Name).ToList();

    /// <summary>The set settings as grid files write them.</summary>
    public JsonObject ToJson() => new(_set.Select(x => KeyValuePair.Create(x.Setting.Name, x.Setting.ToJson(x.Value))));

    public bool Equals(ConfigOverrides? other) => other is not null && ToJson().ToJsonString() == other.ToJson().ToJsonString();
    public override bool Equals(object? obj) => Equals(obj as ConfigOverrides);
    public override int GetHashCode() => ToJson().ToJsonString().GetHashCode();
    public override string ToString() => ToJson().ToJsonString();

    /// <summary>The project's JSON style, with null fields left out and unknown names refused (grid and search files).</summary>
    public static readonly JsonSerializerOptions Json = new(JsonFiles.Options)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    private sealed class ConfigOverridesJson : JsonConverter<ConfigOverrides>
    {
        public override ConfigOverrides Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var node = JsonNode.Parse(ref reader) as JsonObject ?? throw new JsonException("settings must be a JSON object");
            var set = new List<(Setting, object)>();
            foreach (var (key, value) in node)
            {
                if (value is null) continue;
                var setting = Settings.Find(key);
                if (set.Any(x => x.Item1 == setting)) throw new FmnistException($"setting '{setting.Name}' is given twice");
                set.Add((setting, setting.FromJson(value)));
            }
            return new(set);
        }

        public override void Write(Utf8JsonWriter writer, ConfigOverrides value, JsonSerializerOptions options) => value.ToJson().WriteTo(writer);
    }
}
