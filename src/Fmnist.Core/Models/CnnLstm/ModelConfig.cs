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

    public static ModelArch Parse(string name) => name.ToLowerInvariant() switch
    {
        "cnn-lstm" or "cnnlstm" or "cnn_lstm" => ModelArch.CnnLstm,
        "resnet" => ModelArch.ResNet,
        "speed" => ModelArch.Speed,
        _ => throw new FmnistException($"unknown architecture '{name}' (known: {string.Join(", ", Names)})"),
    };
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

    /// <summary>Checks the sizes; throws <see cref="FmnistException"/> naming the first bad one.</summary>
    public void Validate()
    {
        if (Filters1 < 1 || Filters2 < 1 || Lstm < 1 || Dense < 1)
            throw new FmnistException($"model sizes must be positive (filters {Filters1}/{Filters2}, lstm {Lstm}, dense {Dense})");
        if (Dropout1 is < 0 or >= 1 || Dropout2 is < 0 or >= 1)
            throw new FmnistException($"dropout rates must be in [0, 1), got {Dropout1} and {Dropout2}");
        if (Width is < 1 or > 1024) throw new FmnistException($"resnet width must be in 1..1024, got {Width}");
        // 28 -> 14 -> 7 -> 4: a fourth stage still has a 4x4 map; a fifth would be 2x2.
        if (Blocks is null || Blocks.Count is < 1 or > 4 || Blocks.Any(b => b is < 1 or > 16))
            throw new FmnistException($"resnet blocks must be 1 to 4 stages of 1..16 blocks, got '{(Blocks is null ? "" : string.Join(",", Blocks))}'");
        if (WhitenPatch is < 1 or > 5) throw new FmnistException($"whitening patch must be 1..5 pixels, got {WhitenPatch}");
        // each group halves the side: 26 -> 13 -> 6 -> 3 -> 1
        if (Widths is null || Widths.Count < 1 || Widths.Any(w => w is < 1 or > 1024) || (28 - WhitenPatch + 1) >> Widths.Count < 1)
            throw new FmnistException($"speed widths must be 1 to {(Math.Log2(28 - WhitenPatch + 1) is var l ? (int)l : 0)} groups of 1..1024 channels, got '{(Widths is null ? "" : string.Join(",", Widths))}'");
        if (Depth is < 1 or > 8) throw new FmnistException($"speed depth must be 1..8 convolutions per group, got {Depth}");
        if (!(LogitScale > 0 && LogitScale <= 100)) throw new FmnistException($"logit scale must be in (0, 100], got {LogitScale}");
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

    /// <summary>"2,2,2" -> [2,2,2], for the command line.</summary>
    public static IReadOnlyList<int> ParseBlocks(string text) => ParseList(text, "--blocks", "block counts (e.g. 2,2,2)");

    /// <summary>"64,128,256" -> [64,128,256], for the command line.</summary>
    public static IReadOnlyList<int> ParseWidths(string text) => ParseList(text, "--widths", "channel counts (e.g. 64,128,256)");

    private static List<int> ParseList(string text, string option, string what)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var list = new List<int>();
        foreach (var p in parts)
        {
            if (!int.TryParse(p, out var n)) throw new FmnistException($"{option}: '{text}' is not a comma-separated list of {what}");
            list.Add(n);
        }
        return list;
    }
}
