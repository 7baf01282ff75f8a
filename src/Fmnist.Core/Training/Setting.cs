using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fmnist.Training;

/// <summary>
/// One training setting, defined once: its name, help, how a <see cref="TrainConfig"/> holds it, what values it takes
/// and where it acts. The name is snake_case in config.json, grid and search files, and --kebab-case as an option.
/// The options and their help (defaults included), overrides, grid and search values, validation and the refusal of
/// a setting that would be ignored are all generated from these definitions (<see cref="Settings"/>).
/// </summary>
internal abstract class Setting(string name, string help)
{
    /// <summary>The one name: "batch_size".</summary>
    public string Name { get; } = name;
    /// <summary>The option: "--batch-size".</summary>
    public string Option => "--" + Name.Replace('_', '-');
    /// <summary>What it does, for --help; the defaults are added from the presets.</summary>
    public string Help { get; } = help;
    /// <summary>Older names, still read from options and grid files, never written.</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];
    /// <summary>The network whose own setting this is (null: every network has it).</summary>
    public string? Network { get; init; }
    /// <summary>Why a configuration would ignore this setting (given it), or null when it acts there.</summary>
    public Func<TrainConfig, string?> Ignored { get; init; } = _ => null;

    /// <summary>What the option's help calls its value ("X", "N,N,...", "adam|adamw|sgd").</summary>
    public abstract string HelpName { get; }
    /// <summary>An on/off setting: a flag pair on the command line.</summary>
    public abstract bool IsSwitch { get; }
    /// <summary>A list: comma-separated, or the option repeated.</summary>
    public abstract bool IsList { get; }
    /// <summary>Its value in <paramref name="config"/>, in words ("none", "2,2,2", "onecycle").</summary>
    public abstract string Show(TrainConfig config);
    /// <summary><paramref name="config"/> with this setting at <paramref name="value"/> (a value of <see cref="Parse"/>).</summary>
    public abstract TrainConfig Apply(TrainConfig config, object value);
    /// <summary>What is wrong with <paramref name="config"/>'s value, as a one-line message; null when nothing is.</summary>
    public abstract string? Problem(TrainConfig config);
    /// <summary>A value from an option's text; throws <see cref="FmnistException"/> naming the option.</summary>
    public abstract object Parse(string text);
    /// <summary>A value from a grid or search file; throws <see cref="FmnistException"/> naming the setting.</summary>
    public abstract object FromJson(JsonNode? node);
    /// <summary>A value as grid files and config.json write it.</summary>
    public abstract JsonNode? ToJson(object value);
    /// <summary>A value in words, as <see cref="Show"/>.</summary>
    public abstract string Describe(object value);
    /// <summary><paramref name="value"/> as this setting's type (an int for a number setting, text parsed, an array
    /// as a list); throws <see cref="FmnistException"/> when it is none of those.</summary>
    public abstract object Coerce(object value);

    /// <summary>Whether <paramref name="name"/> (snake_case, kebab-case or an --option) names this setting.</summary>
    public bool Is(string name)
    {
        var key = name.TrimStart('-').Replace('-', '_');
        return key == Name || Aliases.Contains(key);
    }
}

/// <summary>A setting whose values are <typeparamref name="T"/> (int, double, an enum, a list of ints, a bool, or
/// a nullable number whose null reads as "none").</summary>
internal sealed class Setting<T>(string name, Func<TrainConfig, T> get, Func<TrainConfig, T, TrainConfig> set, string help) : Setting(name, help)
{
    private static readonly Type Plain = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);

    /// <summary>What the value must be ("in [0, 1)"), or null when it is fine; messages read "--NAME must be …, got V".</summary>
    public Func<T, string?> Check { get; init; } = _ => null;
    /// <summary>A check that needs other settings too (a full message), or null.</summary>
    public Func<TrainConfig, string?> Rule { get; init; } = _ => null;
    /// <summary>Reads an option's text where the general rules (numbers, enum names, lists) take too little.</summary>
    public Func<string, T>? Parser { get; init; }
    /// <summary>A text setting's values (for --help, parsing and completion).</summary>
    public IReadOnlyList<string> Choices { get; init; } = [];
    /// <summary>The value in words, where the default (lower-case name, invariant number) does not read well.</summary>
    public Func<T, string>? Display { get; init; }

    public override string HelpName => Plain == typeof(int) ? "N" : Plain == typeof(double) ? "X" : IsList ? "N,N,..." :
        Plain.IsEnum ? string.Join('|', Enum.GetValues(Plain).Cast<object>().Select(v => Describe(v))) :
        Plain == typeof(string) ? string.Join('|', Choices) : "true|false";
    public override bool IsSwitch => Plain == typeof(bool);
    public override bool IsList => Plain == typeof(IReadOnlyList<int>);

    public override string Show(TrainConfig config) => Describe(get(config));

    public override object Coerce(object value) => value switch
    {
        T => value,
        string text => Parse(text),
        int[] array when IsList => (IReadOnlyList<int>)array,
        int or double when Plain == typeof(double) || Plain == typeof(int) && value is int => Convert.ChangeType(value, Plain, CultureInfo.InvariantCulture),
        _ => throw new FmnistException($"setting '{Name}': {value} is not a valid value"),
    };
    public override TrainConfig Apply(TrainConfig config, object value) => set(config, (T)value);
    public override string Describe(object? value) => value switch
    {
        null => "none",
        T v when Display is not null => Display(v),
        IEnumerable<int> list => string.Join(",", list),
        Enum e => e.ToString().ToLowerInvariant(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString()!,
    };

    public override string? Problem(TrainConfig config)
    {
        var value = get(config);
        if (Check(value) is { } must) return $"{Option} must be {must}, got {Describe(value)}";
        return Rule(config);
    }

    public override object Parse(string text)
    {
        text = text.Trim();
        if (Parser is not null) return Parser(text)!;
        if (Plain == typeof(int) && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)) return i;
        if (Plain == typeof(double) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)) return d;
        if (Plain == typeof(bool) && bool.TryParse(text, out var b)) return b;
        if (Plain == typeof(string))
        {
            var lower = text.ToLowerInvariant();
            return Choices.FirstOrDefault(c => c == lower || c.Replace("-", "") == lower.Replace("-", "").Replace("_", ""))
                ?? throw new FmnistException($"{Option}: '{text}' is not one of {string.Join(", ", Choices)}");
        }
        if (Plain.IsEnum)
        {
            // "one-cycle", "onecycle", "OneCycle" and "one_cycle" all name OneCycle; "cnn-lstm" names CnnLstm
            static string Key(string s) => new([.. s.Where(char.IsLetterOrDigit).Select(char.ToLowerInvariant)]);
            foreach (var v in Enum.GetValues(Plain))
                if (Key(v.ToString()!) == Key(text) || Key(Describe(v)) == Key(text)) return v;
            throw new FmnistException($"{Option}: '{text}' is not one of {HelpName.Replace("|", ", ")}");
        }
        if (IsList)
        {
            var items = new List<int>();
            foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                items.Add(int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n
                    : throw new FmnistException($"{Option}: '{text}' is not a comma-separated list of whole numbers"));
            return (IReadOnlyList<int>)items;
        }
        var kind = Plain == typeof(int) ? "a whole number" : Plain == typeof(double) ? "a number" : "true or false";
        throw new FmnistException($"{Option}: '{text}' is not {kind}");
    }

    public override object FromJson(JsonNode? node)
    {
        // Enums by the same names as options take; the rest through the project's JSON style.
        if ((Plain.IsEnum || Plain == typeof(string)) && node is JsonValue v && v.TryGetValue<string>(out var name)) return Parse(name);
        try
        {
            if (IsList) return (IReadOnlyList<int>)(node.Deserialize<int[]>(JsonFiles.Options) ?? throw new JsonException());
            return node.Deserialize(Plain, JsonFiles.Options) ?? throw new JsonException();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new FmnistException($"setting '{Name}': {node?.ToJsonString() ?? "null"} is not a valid value");
        }
    }

    public override JsonNode? ToJson(object value) => JsonSerializer.SerializeToNode(value, Plain, JsonFiles.Options);
}

/// <summary>The checks settings share: what a value must be, in the words of the refusal.</summary>
internal static class Must
{
    /// <summary>lo ≤ v ≤ hi, either end open.</summary>
    public static Func<double, string?> In(double lo, double hi, bool openLow = false, bool openHigh = false) =>
        v => (openLow ? v > lo : v >= lo) && (openHigh ? v < hi : v <= hi) ? null
            : FormattableString.Invariant($"in {(openLow ? "(" : "[")}{lo}, {hi}{(openHigh ? ")" : "]")}");

    /// <summary>lo ≤ v ≤ hi, whole numbers.</summary>
    public static Func<int, string?> In(int lo, int hi) => v => v >= lo && v <= hi ? null : $"{lo}..{hi}";

    /// <summary>v ≥ lo.</summary>
    public static Func<int, string?> AtLeast(int lo) => v => v >= lo ? null : $"at least {lo}";

    /// <summary>A check of a nullable value: null ("none") passes.</summary>
    public static Func<T?, string?> OrNone<T>(Func<T, string?> check) where T : struct => v => v is { } x ? check(x) : null;
}
