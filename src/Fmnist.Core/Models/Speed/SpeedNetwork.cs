using System.Globalization;
using Fmnist.Export;
using Fmnist.Training;
using static TorchSharp.torch;

namespace Fmnist.Models.Speed;

/// <summary>The speed network's sizes (docs/speedrun.md).</summary>
internal sealed record SpeedConfig : ModelConfig
{
    public override string Arch => "speed";
    /// <summary>Channels of each conv group; each group halves the side (26, 13, 6, 3 with a 3x3 whitening).</summary>
    public IReadOnlyList<int> Widths { get; init; } = [64, 128, 256];
    /// <summary>Convolutions per group (the first one before the group's max-pool).</summary>
    public int Depth { get; init; } = 2;
    /// <summary>Side of the whitening layer's patches; it has 2 x side² filters.</summary>
    public int WhitenPatch { get; init; } = 3;
    /// <summary>The logits are the linear layer's outputs times this (airbench: 1/9).</summary>
    public double LogitScale { get; init; } = 1.0 / 9;

    public override string Describe() =>
        FormattableString.Invariant($"speed widths {string.Join(",", Widths)}, depth {Depth}, whitening {WhitenPatch}x{WhitenPatch}");

    /// <summary>By content, widths included (a record would compare the list by reference).</summary>
    public bool Equals(SpeedConfig? other) => other is not null && Widths.SequenceEqual(other.Widths) && Depth == other.Depth
        && WhitenPatch == other.WhitenPatch && LogitScale.Equals(other.LogitScale);
    public override int GetHashCode() => HashCode.Combine(string.Join(",", Widths), Depth, WhitenPatch, LogitScale);
}

/// <summary>The speed network as <see cref="INetwork"/>.</summary>
internal sealed class SpeedNetwork : Network<SpeedConfig, SpeedNet>
{
    public override string About => "frozen patch-whitening conv, conv groups, after the CIFAR-10 speedruns";

    public override IReadOnlyList<Setting> Settings { get; } =
    [
        Own("widths", m => m.Widths, (m, v) => m with { Widths = v }, "Speed: channels of each conv group (each group halves the side: 26, 13, 6, 3)",
            w => w.Count >= 1 && w.All(n => n is >= 1 and <= 1024) ? null : "groups of 1..1024 channels",
            // each group halves the side: 26 -> 13 -> 6 -> 3 -> 1
            m => (28 - m.WhitenPatch + 1) >> m.Widths.Count >= 1 ? null
                : $"--widths must be at most {(int)Math.Log2(28 - m.WhitenPatch + 1)} groups after a {m.WhitenPatch}x{m.WhitenPatch} whitening, got {m.Widths.Count}"),
        Own("depth", m => m.Depth, (m, v) => m with { Depth = v }, "Speed: convolutions per group", Must.In(1, 8)),
        Own("whiten_patch", m => m.WhitenPatch, (m, v) => m with { WhitenPatch = v }, "Speed: side of the whitening layer's patches (2 x side² frozen filters)", Must.In(1, 5)),
        Own("logit_scale", m => m.LogitScale, (m, v) => m with { LogitScale = v }, "Speed: factor on the logits", Must.In(0.0, 100.0, openLow: true),
            display: v => Math.Round(v, 4).ToString(CultureInfo.InvariantCulture)),
    ];

    // (B,C,3,3): the last conv group, before the global max pool
    public override string GradCamLayer => "groups";

    /// <summary>The whitening filters come from 5,000 images' patches: plenty (3.4M 3x3 patches).</summary>
    public override int InitImages => 5000;

    protected override SpeedNet Create(SpeedConfig c) => new(c);

    protected override long ForwardFlops(SpeedConfig c) => SpeedShape.ForwardFlops(c);

    /// <summary>The whitening layer, then one row per conv group.</summary>
    protected override IReadOnlyList<SummaryRow> Summary(SpeedNet net, SpeedConfig c)
    {
        var p = Counts(net);
        int ws = SpeedShape.WhitenSide(c), wc = SpeedShape.WhitenChannels(c);
        var rows = new List<SummaryRow>
        {
            new("input", "Input", "(B, 1, 28, 28)", 0),
            new("whiten", $"Conv2d {c.WhitenPatch}x{c.WhitenPatch} frozen + GELU", $"(B, {wc}, {ws}, {ws})", p("whiten")),
        };
        for (int g = 0; g < c.Widths.Count; g++)
        {
            int side = SpeedShape.SideAfter(c, g);
            rows.Add(new($"g{g + 1}", $"ConvGroup x{c.Depth} + pool", $"(B, {c.Widths[g]}, {side}, {side})", p($"groups.g{g + 1}")));
        }
        rows.Add(new("pool", "Global max pool", $"(B, {c.Widths[^1]})", 0));
        rows.Add(new("output", FormattableString.Invariant($"Linear x {c.LogitScale:0.###}"), "(B, 10)", p("output")));
        return rows;
    }

    protected override string OnnxBody(OnnxGraphBuilder g, SpeedNet net, SpeedConfig c, string x) => SpeedOnnx.Body(g, net, c, x);

    protected override void Initialise(SpeedNet net, Tensor images) => net.InitWhitening(images);
}
