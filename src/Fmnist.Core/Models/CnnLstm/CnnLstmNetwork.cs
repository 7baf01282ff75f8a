using System.Globalization;
using Fmnist.Export;
using Fmnist.Training;

namespace Fmnist.Models.CnnLstm;

/// <summary>The seed's CNN+LSTM: sizes and rates. Defaults are the seed's best row.</summary>
internal sealed record CnnLstmConfig : ModelConfig
{
    public override string Arch => "cnn-lstm";
    /// <summary>Filters of the first two convolutions.</summary>
    public int Filters1 { get; init; } = 32;
    /// <summary>Filters of the last two convolutions.</summary>
    public int Filters2 { get; init; } = 64;
    /// <summary>Units of the LSTM.</summary>
    public int Lstm { get; init; } = 256;
    /// <summary>Units of the dense layer before the output.</summary>
    public int Dense { get; init; } = 128;
    /// <summary>Dropout rate after the LSTM.</summary>
    public double Dropout1 { get; init; } = 0.4;
    /// <summary>Dropout rate after the dense layer.</summary>
    public double Dropout2 { get; init; } = 0.5;
    /// <summary>Half-width of the uniform range of the conv kernels' initial values (Keras' RandomUniform default).</summary>
    public double ConvInitRange { get; init; } = 0.05;

    public override string Describe() => FormattableString.Invariant($"cnn-lstm dropout {Dropout1}/{Dropout2}, LSTM {Lstm}, dense {Dense}");

    private protected override void ValidateFixed()
    {
        if (Filters1 < 1 || Filters2 < 1) throw new FmnistException($"filters must be positive, got {Filters1} and {Filters2}");
    }
}

/// <summary>The CNN+LSTM as <see cref="INetwork"/>.</summary>
internal sealed class CnnLstmNetwork : Network<CnnLstmConfig, CnnLstmNet>
{
    public override string About => "the seed's: conv blocks, the rows read by an LSTM";

    public override IReadOnlyList<Setting> Settings { get; } =
    [
        Own("lstm", m => m.Lstm, (m, v) => m with { Lstm = v }, "LSTM hidden size", Must.In(1, 4096)),
        Own("dense", m => m.Dense, (m, v) => m with { Dense = v }, "First dense layer size", Must.In(1, 4096)),
        Own("dropout1", m => m.Dropout1, (m, v) => m with { Dropout1 = v }, "Dropout before the first dense layer", Must.In(0.0, 1.0, openHigh: true)),
        Own("dropout2", m => m.Dropout2, (m, v) => m with { Dropout2 = v }, "Dropout before the output layer", Must.In(0.0, 1.0, openHigh: true)),
    ];

    // (B,F2,14,14): the second conv block, before its pool and the LSTM
    public override string GradCamLayer => "bn2";

    protected override CnnLstmNet Create(CnnLstmConfig c) => new(c);

    protected override long ForwardFlops(CnnLstmConfig c)
    {
        long f1 = c.Filters1, f2 = c.Filters2, h = c.Lstm;
        long convs = 28 * 28 * f1 * 9 * (1 + f1) + 14 * 14 * f2 * 9 * (f1 + f2);
        long lstm = 7 * 4 * h * (f2 * 7 + h); // 7 steps, 4 gates, input and recurrent matrices
        long dense = 7 * h * c.Dense + c.Dense * 10;
        return 2 * (convs + lstm + dense);
    }

    protected override IReadOnlyList<SummaryRow> Summary(CnnLstmNet net, CnnLstmConfig c)
    {
        var p = Counts(net);
        int f1 = c.Filters1, f2 = c.Filters2, h = c.Lstm;
        string Rate(double r) => r.ToString(CultureInfo.InvariantCulture);
        return
        [
            new("input", "Input", "(B, 1, 28, 28)", 0),
            new("conv1a", "Conv2d 3x3 + ReLU", $"(B, {f1}, 28, 28)", p("conv1a")),
            new("conv1b", "Conv2d 3x3 + ReLU", $"(B, {f1}, 28, 28)", p("conv1b")),
            new("bn1", "BatchNorm2d", $"(B, {f1}, 28, 28)", p("bn1")),
            new("pool1", "MaxPool2d 2", $"(B, {f1}, 14, 14)", 0),
            new("conv2a", "Conv2d 3x3 + ReLU", $"(B, {f2}, 14, 14)", p("conv2a")),
            new("conv2b", "Conv2d 3x3 + ReLU", $"(B, {f2}, 14, 14)", p("conv2b")),
            new("bn2", "BatchNorm2d", $"(B, {f2}, 14, 14)", p("bn2")),
            new("pool2", "MaxPool2d 2", $"(B, {f2}, 7, 7)", 0),
            new("rows", "Reshape (rows->steps)", $"(B, 7, {f2 * 7})", 0),
            new("lstm", "LSTM", $"(B, 7, {h})", p("lstm")),
            new("flatten", "Flatten", $"(B, {7 * h})", 0),
            new("dropout1", $"Dropout {Rate(c.Dropout1)}", $"(B, {7 * h})", 0),
            new("dense", "Linear + ReLU", $"(B, {c.Dense})", p("dense")),
            new("dropout2", $"Dropout {Rate(c.Dropout2)}", $"(B, {c.Dense})", 0),
            new("output", "Linear + Softmax", "(B, 10)", p("output")),
        ];
    }

    protected override string OnnxBody(OnnxGraphBuilder g, CnnLstmNet net, CnnLstmConfig c, string x) => CnnLstmOnnx.Body(g, net, x);
}
