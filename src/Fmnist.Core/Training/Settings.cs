using Fmnist.Models;

namespace Fmnist.Training;

/// <summary>Every setting (<see cref="Setting"/>): the network family, each network's own (defined in its folder), then
/// the training settings (<see cref="TrainSettings"/>). What options, grid files, checks and refusals read.</summary>
internal static class Settings
{
    public static Setting[] All { get; } =
        [TrainSettings.Network, .. Networks.All.SelectMany(n => n.Settings), .. TrainSettings.All];

    /// <summary>Position in <see cref="All"/>: the order overrides are applied and written in.</summary>
    public static int Index(Setting s) => Array.IndexOf(All, s);

    /// <summary>The setting called <paramref name="name"/> (its name, an older name, or its --option).</summary>
    public static Setting Find(string name) => All.FirstOrDefault(s => s.Is(name))
        ?? throw new FmnistException($"unknown setting '{name}' (known: {string.Join(", ", All.Select(s => s.Name))})");

    /// <summary>The first setting in <paramref name="overrides"/> that <paramref name="config"/> (the result of applying
    /// them) would ignore, as "--NAME does not apply: why"; null when every one acts. Training with it would record a
    /// value that never acted, so it is refused before any work (`train`, sweep grids, searches).</summary>
    public static string? Ignored(ConfigOverrides overrides, TrainConfig config)
    {
        foreach (var (setting, _) in overrides.Set)
        {
            var why = setting.Network is { } network && network != config.Model.Arch
                ? $"only the {network} network has it, not the {config.Model.Arch} network"
                : setting.Ignored(config);
            if (why is not null) return $"{setting.Option} does not apply: {why}";
        }
        return null;
    }

    /// <summary>What a settings file would have ignored: the first setting whose value in <paramref name="config"/> differs
    /// from <paramref name="start"/> (the preset the file names) and that <paramref name="config"/> ignores, as a message;
    /// null when there is none. A file that merely repeats its preset passes. <paramref name="only"/> limits the
    /// settings looked at.</summary>
    public static string? IgnoredChanges(TrainConfig start, TrainConfig config, IEnumerable<Setting>? only = null)
    {
        if (start.Model.Arch != config.Model.Arch) start = start with { Model = Models.Networks.Of(config.Model).Default };
        foreach (var s in only ?? All)
        {
            if (s.Network is { } network && network != config.Model.Arch) continue; // not part of this configuration
            if (s.Show(start) != s.Show(config) && s.Ignored(config) is { } why) return $"{s.Name} does not apply: {why}";
        }
        return null;
    }

    /// <summary>Checks every setting of <paramref name="config"/>, then the fields no option sets (config files may);
    /// throws <see cref="FmnistException"/> naming the first bad one.</summary>
    public static void Validate(TrainConfig config)
    {
        config.Model.Validate();
        foreach (var s in All)
            if (s.Network is null && s.Problem(config) is { } problem) throw new FmnistException(problem);
        var a = config.Augmentation;
        if (a.Probability is < 0 or > 1) throw new FmnistException($"augmentation probability must be in [0, 1], got {a.Probability}");
        if (a.EraseMinArea is <= 0 or >= 1) throw new FmnistException($"random erasing's smallest area must be in (0, 1), got {a.EraseMinArea}");
    }
}
