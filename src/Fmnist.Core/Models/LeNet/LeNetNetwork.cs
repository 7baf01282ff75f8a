using Fmnist.Export;
using Fmnist.Training;

namespace Fmnist.Models.LeNet;

/// <summary>LeNet-5's sizes: the filters of its two convolutions.</summary>
internal sealed record LeNetConfig : ModelConfig
{
    public override string Arch => "lenet";
    /// <summary>Filters of the two convolutions (LeNet-5: 6 and 16).</summary>
    public IReadOnlyList<int> Channels { get; init; } = [6, 16];

    public override string Describe() => $"lenet channels {string.Join(",", Channels)}";

    /// <summary>By content (a record would compare the list by reference).</summary>
    public bool Equals(LeNetConfig? other) => other is not null && Channels.SequenceEqual(other.Channels);
    public override int GetHashCode() => string.Join(",", Channels).GetHashCode();
}

/// <summary>LeNet-5 as <see cref="INetwork"/>.</summary>
internal sealed class LeNetNetwork : Network<LeNetConfig, LeNetNet>
{
    public override string About => "LeNet-5, the classic small baseline";

    public override IReadOnlyList<Setting> Settings { get; } =
    [
        Own("channels", m => m.Channels, (m, v) => m with { Channels = v }, "LeNet: filters of its two convolutions",
            c => c.Count == 2 && c.All(n => n is >= 1 and <= 512) ? null : "two counts of 1..512 filters"),
    ];

    // (B,C2,10,10): the second convolution, before its pool
    public override string GradCamLayer => "conv2";

    protected override LeNetNet Create(LeNetConfig c) => new(c);

    protected override long ForwardFlops(LeNetConfig c)
    {
        long c1 = c.Channels[0], c2 = c.Channels[1];
        long macs = 28 * 28 * c1 * 25 + 10 * 10 * c2 * c1 * 25 + c2 * 25 * 120 + 120 * 84 + 84 * 10;
        return 2 * macs;
    }

    protected override IReadOnlyList<SummaryRow> Summary(LeNetNet net, LeNetConfig c)
    {
        var p = Counts(net);
        int c1 = c.Channels[0], c2 = c.Channels[1];
        return
        [
            new("input", "Input", "(B, 1, 28, 28)", 0),
            new("conv1", "Conv2d 5x5 pad 2 + ReLU", $"(B, {c1}, 28, 28)", p("conv1")),
            new("pool1", "MaxPool2d 2", $"(B, {c1}, 14, 14)", 0),
            new("conv2", "Conv2d 5x5 + ReLU", $"(B, {c2}, 10, 10)", p("conv2")),
            new("pool2", "MaxPool2d 2", $"(B, {c2}, 5, 5)", 0),
            new("fc1", "Linear + ReLU", "(B, 120)", p("fc1")),
            new("fc2", "Linear + ReLU", "(B, 84)", p("fc2")),
            new("output", "Linear + Softmax", "(B, 10)", p("output")),
        ];
    }

    protected override string OnnxBody(OnnxGraphBuilder g, LeNetNet net, LeNetConfig c, string x)
    {
        var w = ModuleWeights.Of(net);
        x = g.MaxPool(g.Relu(g.Conv(x, "conv1", w["conv1.weight"], w["conv1.bias"], padding: 2)), 2);
        x = g.MaxPool(g.Relu(g.Conv(x, "conv2", w["conv2.weight"], w["conv2.bias"], padding: 0)), 2);
        x = g.Reshape(x, 0, -1);
        x = g.Relu(g.Linear(x, "fc1", w["fc1.weight"], w["fc1.bias"]));
        x = g.Relu(g.Linear(x, "fc2", w["fc2.weight"], w["fc2.bias"]));
        return g.Linear(x, "output", w["output.weight"], w["output.bias"]);
    }
}
