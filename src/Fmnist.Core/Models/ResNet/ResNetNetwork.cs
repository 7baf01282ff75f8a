using Fmnist.Export;
using Fmnist.Training;

namespace Fmnist.Models.ResNet;

/// <summary>The ResNet's sizes (docs/resnet.md).</summary>
internal sealed record ResNetConfig : ModelConfig
{
    public override string Arch => "resnet";
    /// <summary>Channels of the first stage; each later stage doubles them and halves the resolution.</summary>
    public int Width { get; init; } = 32;
    /// <summary>Residual blocks per stage (28x28, 14x14, 7x7, ...); one entry per stage.</summary>
    public IReadOnlyList<int> Blocks { get; init; } = [2, 2, 2];

    public override string Describe() => $"resnet width {Width}, blocks {string.Join(",", Blocks)}";

    /// <summary>By content, blocks included (a record would compare the list by reference).</summary>
    public bool Equals(ResNetConfig? other) => other is not null && Width == other.Width && Blocks.SequenceEqual(other.Blocks);
    public override int GetHashCode() => HashCode.Combine(Width, string.Join(",", Blocks));
}

/// <summary>The ResNet as <see cref="INetwork"/>.</summary>
internal sealed class ResNetNetwork : Network<ResNetConfig, ResNetNet>
{
    public override string About => "residual stages, docs/resnet.md";

    public override IReadOnlyList<Setting> Settings { get; } =
    [
        Own("width", m => m.Width, (m, v) => m with { Width = v }, "ResNet: channels of the first stage, doubled at each later stage", Must.In(1, 1024)),
        // 28 -> 14 -> 7 -> 4: a fourth stage still has a 4x4 map; a fifth would be 2x2.
        Own("blocks", m => m.Blocks, (m, v) => m with { Blocks = v }, "ResNet: residual blocks per stage (stages at 28, 14, 7, 4 pixels)",
            b => b.Count is >= 1 and <= 4 && b.All(n => n is >= 1 and <= 16) ? null : "1 to 4 stages of 1..16 blocks"),
    ];

    // (B,C,7,7): the last residual stage, before the global average pool
    public override string GradCamLayer => "stages";

    protected override ResNetNet Create(ResNetConfig c) => new(c);

    protected override long ForwardFlops(ResNetConfig c) => ResNetShape.ForwardFlops(c);

    /// <summary>One row per residual block (its shortcut included), from the config's shapes.</summary>
    protected override IReadOnlyList<SummaryRow> Summary(ResNetNet net, ResNetConfig c)
    {
        var p = Counts(net);
        var rows = new List<SummaryRow>
        {
            new("input", "Input", "(B, 1, 28, 28)", 0),
            new("stem", "Conv2d 3x3 + BN + ReLU", $"(B, {c.Width}, 28, 28)", p("stem") + p("stemBn")),
        };
        foreach (var conv in ResNetShape.Convs(c).Where(v => v.Layer.EndsWith(".conv2")))
        {
            string block = conv.Layer[..^".conv2".Length];
            bool projected = ResNetShape.Convs(c).Any(v => v.Layer == block + ".shortcut");
            rows.Add(new(block, projected ? "BasicBlock (1x1 proj)" : "BasicBlock", $"(B, {conv.Out}, {conv.OutSide}, {conv.OutSide})", p("stages." + block)));
        }
        rows.Add(new("pool", "Global average pool", $"(B, {ResNetShape.FinalChannels(c)})", 0));
        rows.Add(new("output", "Linear + Softmax", "(B, 10)", p("output")));
        return rows;
    }

    protected override string OnnxBody(OnnxGraphBuilder g, ResNetNet net, ResNetConfig c, string x) => ResNetOnnx.Body(g, net, c, x);
}
