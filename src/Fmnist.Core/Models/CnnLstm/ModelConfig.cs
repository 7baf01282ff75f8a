using System.Text.Json.Serialization;

namespace Fmnist.Models.CnnLstm;

/// <summary>Which network family a run uses. config.json files written before this field existed hold no
/// "arch" and load as the seed's CNN+LSTM (the field's default).</summary>
public enum ModelArch
{
    /// <summary>The seed's CNN+LSTM ("cnn-lstm").</summary>
    [JsonStringEnumMemberName("cnn-lstm")] CnnLstm,
    /// <summary>A ResNet ("resnet"; docs/resnet.md).</summary>
    [JsonStringEnumMemberName("resnet")] ResNet,
    /// <summary>The speed network ("speed"; docs/speedrun.md).</summary>
    [JsonStringEnumMemberName("speed")] Speed,
}

internal static class ModelArchNames
{
    public static readonly IReadOnlyList<string> Names = ["cnn-lstm", "resnet", "speed"];

    public static string Name(ModelArch a) => a switch { ModelArch.ResNet => "resnet", ModelArch.Speed => "speed", _ => "cnn-lstm" };
}

/// <summary>
/// Sizes and rates of the network. Defaults are the seed's best row (CNN+LSTM); the ResNet fields
/// (<see cref="Width"/>, <see cref="Blocks"/>) are read only when <see cref="Arch"/> is resnet, and the
/// CNN+LSTM fields only when it is cnn-lstm. Kept in this one record (in its old namespace) so that
/// config.json keeps one "model" object for either family.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>The network family.</summary>
    public ModelArch Arch { get; init; } = ModelArch.CnnLstm;
    /// <summary>CNN+LSTM: filters of the first two convolutions.</summary>
    public int Filters1 { get; init; } = 32;
    /// <summary>CNN+LSTM: filters of the last two convolutions.</summary>
    public int Filters2 { get; init; } = 64;
    /// <summary>CNN+LSTM: units of the LSTM.</summary>
    public int Lstm { get; init; } = 256;
    /// <summary>CNN+LSTM: units of the dense layer before the output.</summary>
    public int Dense { get; init; } = 128;
    /// <summary>CNN+LSTM: dropout rate after the LSTM.</summary>
    public double Dropout1 { get; init; } = 0.4;
    /// <summary>CNN+LSTM: dropout rate after the dense layer.</summary>
    public double Dropout2 { get; init; } = 0.5;

    /// <summary>Half-width of the uniform range of the conv kernels' initial values (Keras' RandomUniform default).</summary>
    public double ConvInitRange { get; init; } = 0.05;

    /// <summary>ResNet: channels of the first stage; each later stage doubles them and halves the resolution.</summary>
    public int Width { get; init; } = 32;

    /// <summary>ResNet: residual blocks per stage (28x28, 14x14, 7x7, ...); one entry per stage.</summary>
    public IReadOnlyList<int> Blocks { get; init; } = [2, 2, 2];

    /// <summary>Speed: channels of each conv group; each group halves the side (26, 13, 6, 3 with a 3x3 whitening).</summary>
    public IReadOnlyList<int> Widths { get; init; } = [64, 128, 256];

    /// <summary>Speed: convolutions per group (the first one before the group's max-pool).</summary>
    public int Depth { get; init; } = 2;

    /// <summary>Speed: side of the whitening layer's patches; it has 2 x side² filters.</summary>
    public int WhitenPatch { get; init; } = 3;

    /// <summary>Speed: the logits are the linear layer's outputs times this (airbench: 1/9).</summary>
    public double LogitScale { get; init; } = 1.0 / 9;

    /// <summary>Checks the sizes (the network settings' own checks, <see cref="Training.Settings"/>); throws
    /// <see cref="FmnistException"/> naming the first bad one.</summary>
    public void Validate()
    {
        var config = new Training.TrainConfig { Model = this };
        foreach (var s in Training.Settings.All)
            if (s.Network is not null && s.Problem(config) is { } problem) throw new FmnistException(problem);
        if (Filters1 < 1 || Filters2 < 1) throw new FmnistException($"filters must be positive, got {Filters1} and {Filters2}");
    }

    /// <summary>By content, blocks included (a record would compare the list by reference).</summary>
    public bool Equals(ModelConfig? other) => other is not null && JsonFiles.Serialize(this) == JsonFiles.Serialize(other);

    /// <summary>By content, as <see cref="Equals(ModelConfig?)"/>.</summary>
    public override int GetHashCode() => JsonFiles.Serialize(this).GetHashCode();

    /// <summary>The sizes that matter for this architecture, for one-line messages.</summary>
    public string Describe() => Arch switch
    {
        ModelArch.ResNet => $"resnet width {Width}, blocks {string.Join(",", Blocks)}",
        ModelArch.Speed => FormattableString.Invariant($"speed widths {string.Join(",", Widths)}, depth {Depth}, whitening {WhitenPatch}x{WhitenPatch}"),
        _ => FormattableString.Invariant($"cnn-lstm dropout {Dropout1}/{Dropout2}, LSTM {Lstm}, dense {Dense}"),
    };
}
