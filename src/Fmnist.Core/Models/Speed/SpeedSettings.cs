using Fmnist.Models.CnnLstm;
using Fmnist.Training;

namespace Fmnist.Models.Speed;

/// <summary>The speed network's own settings (<see cref="Setting"/>); the other networks refuse them.</summary>
internal static class SpeedSettings
{
    public static readonly IReadOnlyList<Setting> All =
    [
        new Setting<IReadOnlyList<int>>("widths", c => c.Model.Widths, (c, v) => c with { Model = c.Model with { Widths = v } },
            "Speed: channels of each conv group (each group halves the side: 26, 13, 6, 3)")
        {
            Check = w => w.Count >= 1 && w.All(n => n is >= 1 and <= 1024) ? null : "groups of 1..1024 channels",
            // each group halves the side: 26 -> 13 -> 6 -> 3 -> 1
            Rule = c => (28 - c.Model.WhitenPatch + 1) >> c.Model.Widths.Count >= 1 ? null
                : $"--widths must be at most {(int)Math.Log2(28 - c.Model.WhitenPatch + 1)} groups after a {c.Model.WhitenPatch}x{c.Model.WhitenPatch} whitening, got {c.Model.Widths.Count}",
            Network = ModelArch.Speed,
        },
        new Setting<int>("depth", c => c.Model.Depth, (c, v) => c with { Model = c.Model with { Depth = v } }, "Speed: convolutions per group")
        { Check = Must.In(1, 8), Network = ModelArch.Speed },
        new Setting<int>("whiten_patch", c => c.Model.WhitenPatch, (c, v) => c with { Model = c.Model with { WhitenPatch = v } },
            "Speed: side of the whitening layer's patches (2 x side² frozen filters)")
        { Check = Must.In(1, 5), Network = ModelArch.Speed },
        new Setting<double>("logit_scale", c => c.Model.LogitScale, (c, v) => c with { Model = c.Model with { LogitScale = v } }, "Speed: factor on the logits")
        { Check = Must.In(0.0, 100.0, openLow: true), Display = v => Math.Round(v, 4).ToString(System.Globalization.CultureInfo.InvariantCulture), Network = ModelArch.Speed },
    ];
}
