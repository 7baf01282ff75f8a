using Fmnist.Features;
using Fmnist.Models.CnnLstm;

namespace Fmnist.Training;

/// <summary>
/// Settings that the chosen network, optimizer, schedule or augmentation would silently ignore. Training with them
/// would record a value that never acted, so they are refused before any work (`train`, sweep grids, searches).
/// </summary>
internal static class Applicability
{
    private sealed record Rule(string Name, Func<ConfigOverrides, bool> IsSet, Func<TrainConfig, bool> Applies, Func<TrainConfig, string> Why);

    private static string Arch(TrainConfig c) => $"the {ModelArchNames.Name(c.Model.Arch)} network";
    private static bool AffineAugment(TrainConfig c) => c.Augment is AugmentMode.Offline or AugmentMode.Online;

    private static readonly Rule[] Rules =
    [
        new("lstm", o => o.Lstm is not null, c => c.Model.Arch == ModelArch.CnnLstm, c => $"{Arch(c)} has no LSTM"),
        new("dense", o => o.Dense is not null, c => c.Model.Arch == ModelArch.CnnLstm, c => $"{Arch(c)} has no hidden dense layer"),
        new("dropout1", o => o.Dropout1 is not null, c => c.Model.Arch == ModelArch.CnnLstm, c => $"{Arch(c)} has no dropout"),
        new("dropout2", o => o.Dropout2 is not null, c => c.Model.Arch == ModelArch.CnnLstm, c => $"{Arch(c)} has no dropout"),
        new("width", o => o.Width is not null, c => c.Model.Arch == ModelArch.ResNet, c => $"only the resnet network has it, not {Arch(c)}"),
        new("blocks", o => o.Blocks is not null, c => c.Model.Arch == ModelArch.ResNet, c => $"only the resnet network has it, not {Arch(c)}"),
        new("widths", o => o.Widths is not null, c => c.Model.Arch == ModelArch.Speed, c => $"only the speed network has it, not {Arch(c)}"),
        new("depth", o => o.Depth is not null, c => c.Model.Arch == ModelArch.Speed, c => $"only the speed network has it, not {Arch(c)}"),
        new("whiten-patch", o => o.WhitenPatch is not null, c => c.Model.Arch == ModelArch.Speed, c => $"only the speed network has it, not {Arch(c)}"),
        new("logit-scale", o => o.LogitScale is not null, c => c.Model.Arch == ModelArch.Speed, c => $"only the speed network has it, not {Arch(c)}"),
        new("momentum", o => o.Momentum is not null, c => c.Optimizer == OptimizerKind.Sgd, c => $"only sgd uses it, the optimizer is {c.Optimizer.ToString().ToLowerInvariant()}"),
        new("warmup", o => o.Warmup is not null, c => c.Schedule == LrSchedule.Cosine, c => $"only the cosine schedule warms up, the schedule is {c.Schedule.ToString().ToLowerInvariant()}"),
        new("crop-padding", o => o.CropPadding is not null, c => c.Augment == AugmentMode.Crop, c => $"only --augment crop pads, augment is {Augment(c)}"),
        new("alternate-flip", o => o.AlternateFlip is not null, c => c.Augment == AugmentMode.Crop, c => $"only --augment crop alternates flips, augment is {Augment(c)}"),
        new("shear", o => o.Shear is not null, AffineAugment, c => $"only the affine augmentations (offline, online) shear, augment is {Augment(c)}"),
        new("zoom", o => o.Zoom is not null, AffineAugment, c => $"only the affine augmentations (offline, online) zoom, augment is {Augment(c)}"),
        new("shift", o => o.Shift is not null, AffineAugment, c => $"only the affine augmentations (offline, online) shift, augment is {Augment(c)}"),
        new("flip", o => o.Flip is not null, c => AffineAugment(c) || c.Augment == AugmentMode.Crop && !c.Augmentation.AlternateFlip,
            c => c.Augment == AugmentMode.None ? "augment is none" : "--alternate-flip decides the flips"),
        new("erase", o => o.Erase is not null, c => c.Augment is AugmentMode.Online or AugmentMode.Crop, c => $"only the online and crop augmentations erase, augment is {Augment(c)}"),
        new("erase-max-area", o => o.EraseMaxArea is not null, c => c.Augment is AugmentMode.Online or AugmentMode.Crop && c.Augmentation.EraseProbability > 0,
            c => c.Augmentation.EraseProbability > 0 ? $"augment is {Augment(c)}" : "random erasing is off (erase 0)"),
    ];

    private static string Augment(TrainConfig c) => c.Augment.ToString().ToLowerInvariant();

    /// <summary>The first setting in <paramref name="overrides"/> that <paramref name="config"/> (the result of applying
    /// them) would ignore, as "--NAME: why"; null when every one acts.</summary>
    public static string? Ignored(ConfigOverrides overrides, TrainConfig config) =>
        Rules.FirstOrDefault(r => r.IsSet(overrides) && !r.Applies(config)) is { } rule ? $"--{rule.Name} does not apply: {rule.Why(config)}" : null;
}
