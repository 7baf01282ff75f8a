using System.CommandLine;
using Fmnist.Training;

namespace Fmnist.Cli.Commands;

/// <summary>
/// The hyperparameter options of `train` (some shared by `summary`); unset ones keep the preset's value.
/// Every default shown in --help is read from the presets themselves.
/// </summary>
internal sealed class TrainOptions
{
    /// <summary>"[default: X]", plus "; improved: Y", "; resnet: Z", "; fast: W" where those presets differ
    /// ("best" is "fast" trained as an ensemble, named only where it differs from "fast": its epochs).</summary>
    private static string Default(Setting setting)
    {
        // A network's own setting: the presets of that network only (the first one's value is the default).
        var presets = Presets.Names.Where(n => setting.Network is null || Presets.Get(n).Model.Arch == setting.Network).ToList();
        if (presets.Count == 0) return $"[default: {setting.Show(new TrainConfig { Model = Models.Networks.Find(setting.Network!)!.Default })}]";
        var (first, s, fast) = (presets[0], setting.Show(Presets.Get(presets[0])), setting.Show(Presets.Get("fast")));
        var others = presets.Skip(1).Select(n => (n, v: setting.Show(Presets.Get(n))))
            .Where(x => x.v != s && !(x.n == "best" && x.v == fast));
        var where = first == "seed" ? "" : $"{first}: ";
        return $"[default: {where}{s}{string.Concat(others.Select(x => $"; {x.n}: {x.v}"))}]";
    }

    public Option<string> Preset { get; } = new("--preset") { Description = $"Starting configuration: {string.Join(" or ", Presets.Names)} (seed = the seed's best row)", DefaultValueFactory = _ => "seed" };
    public Option<string?> ConfigFile { get; } = new("--config")
    {
        Description = "Start from the settings in this JSON file (a run's config.json, or training settings as that file's \"config\" holds them) instead of --preset; other options still override them",
    };

    // One option per setting (a switch: a flag pair), made from its definition: name, help, value form, default.
    private readonly List<(Setting Setting, Option Option, Option<bool>? Off)> _settings = [.. Settings.All.Select(Make)];

    private static (Setting, Option, Option<bool>?) Make(Setting s)
    {
        var help = $"{s.Help} {Default(s)}";
        if (s.IsSwitch)
        {
            // --x turns it on, --no-x off, neither keeps the preset's; `--x true|false` still parses (a bool option takes an optional value).
            return (s, new Option<bool>(s.Option) { Description = help },
                new Option<bool>("--no-" + s.Option[2..]) { Description = $"The opposite of {s.Option}" });
        }
        if (s.IsList) return (s, Common.List<object?>(s.Option, $"{s.Help} ({Common.ListForm}) {Default(s)}", s.Parse, s.HelpName), null);
        return (s, new Option<object?>(s.Option, [.. s.Aliases.Select(a => "--" + a.Replace('_', '-'))])
        {
            Description = help,
            HelpName = s.HelpName,
            Arity = ArgumentArity.ExactlyOne,
            CustomParser = r => Parsed(r, s.Parse),
        }, null);
    }

    public IEnumerable<Option> All => [Preset, ConfigFile, .. _settings.SelectMany(x => x.Off is null ? [x.Option] : new[] { x.Option, x.Off })];

    /// <summary>The options that shape the network (what `summary` takes).</summary>
    public IEnumerable<Option> ModelOptions => [Preset, .. _settings.Where(x => x.Setting == TrainSettings.Network || x.Setting.Network is not null).Select(x => x.Option)];

    /// <summary>A value parsed by core code; its FmnistException becomes a parse error (a usage message, not a crash).</summary>
    private static T? Parsed<T>(System.CommandLine.Parsing.ArgumentResult r, Func<string, T> parse)
    {
        try
        {
            return parse(r.Tokens.Single().Value);
        }
        catch (FmnistException e)
        {
            r.AddError(e.Message);
            return default;
        }
    }

    /// <summary>The options the user set, as overrides (unregistered options read as unset).</summary>
    public ConfigOverrides Overrides(ParseResult p)
    {
        var overrides = new ConfigOverrides();
        foreach (var (setting, option, off) in _settings)
        {
            if (p.GetResult(option) is null && (off is null || p.GetResult(off) is null)) continue;
            overrides = overrides.With(setting.Name, off is not null ? Switch(p, (Option<bool>)option, off) : p.GetValue((Option<object?>)option));
        }
        return overrides;
    }

    /// <summary>A flag pair's value: true, false, or null (neither given: the preset's). Both given is a usage error.</summary>
    private static bool? Switch(ParseResult p, Option<bool> on, Option<bool> off)
    {
        bool? yes = p.GetResult(on) is { Implicit: false } ? p.GetValue(on) : null, no = p.GetResult(off) is { Implicit: false } ? !p.GetValue(off) : null;
        if (yes is not null && no is not null) throw new UsageException($"{on.Name} and {off.Name}: give one");
        return yes ?? no;
    }

    /// <summary>The preset with the user's options applied, validated (a bad value is a usage error).</summary>
    public TrainConfig Resolve(ParseResult p)
    {
        var overrides = Overrides(p);
        TrainConfig start;
        if (p.GetValue(ConfigFile) is { } file)
        {
            if (p.GetResult(Preset) is { Implicit: false }) throw new UsageException("--config and --preset: give one starting point, not both");
            start = TrainConfig.FromFile(file);
        }
        else start = Presets.Get(p.GetValue(Preset)!);
        var config = Validated(overrides.Apply(start));
        if (Settings.Ignored(overrides, config) is { } ignored) throw new UsageException(ignored);
        if (p.GetValue(ConfigFile) is { } settingsFile && Settings.IgnoredChanges(PresetOf(start), config) is { } ignoredInFile)
            throw new UsageException($"{settingsFile}: {ignoredInFile}");
        return config;
    }

    /// <summary>The preset a settings file names (the seed's when it names none it knows).</summary>
    private static TrainConfig PresetOf(TrainConfig file) => Presets.Names.Contains(file.Preset) ? Presets.Get(file.Preset) : Presets.Get("seed");

    public static TrainConfig Validated(TrainConfig c)
    {
        try
        {
            c.Validate();
            return c;
        }
        catch (FmnistException e)
        {
            throw new UsageException(e.Message);
        }
    }
}
