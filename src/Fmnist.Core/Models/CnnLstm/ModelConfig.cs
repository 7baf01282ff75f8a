using System.Text.Json.Serialization;

namespace Fmnist.Models.CnnLstm;

/// <summary>Which network family a run uses. config.json files written before this field existed hold no
/// "arch" and load as the seed's CNN+LSTM (the field's default).</summary>
public enum ModelArch
{
    [JsonStringEnumMemberName("cnn-lstm")] CnnLstm,
    [JsonStringEnumMemberName("resnet")] ResNet,
}

public static class ModelArchNames
{
    public static readonly IReadOnlyList<string> Names = ["cnn-lstm", "resnet"];

    public static string Name(ModelArch a) => a == ModelArch.ResNet ? "resnet" : "cnn-lstm";

    public static ModelArch Parse(string name) => name.ToLowerInvariant() switch
    {
        "cnn-lstm" or "cnnlstm" or "cnn_lstm" => ModelArch.CnnLstm,
        "resnet" => ModelArch.ResNet,
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
    public ModelArch Arch { get; init; } = ModelArch.CnnLstm;
    public int Filters1 { get; init; } = 32;
    public int Filters2 { get; init; } = 64;
    public int Lstm { get; init; } = 256;
    public int Dense { get; init; } = 128;
    public double Dropout1 { get; init; } = 0.4;
    public double Dropout2 { get; init; } = 0.5;

    /// <summary>Half-width of the uniform range of the conv kernels' initial values (Keras' RandomUniform default).</summary>
    public double ConvInitRange { get; init; } = 0.05;

    /// <summary>ResNet: channels of the first stage; each later stage doubles them and halves the resolution.</summary>
    public int Width { get; init; } = 32;

    /// <summary>ResNet: residual blocks per stage (28x28, 14x14, 7x7, ...); one entry per stage.</summary>
    public IReadOnlyList<int> Blocks { get; init; } = [2, 2, 2];

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
    }

    /// <summary>By content, blocks included (a record would compare the list by reference).</summary>
    public bool Equals(ModelConfig? other) => other is not null && JsonFiles.Serialize(this) == JsonFiles.Serialize(other);

    public override int GetHashCode() => JsonFiles.Serialize(this).GetHashCode();

    /// <summary>The sizes that matter for this architecture, for one-line messages.</summary>
    public string Describe() => Arch == ModelArch.ResNet
        ? $"resnet width {Width}, blocks {string.Join(",", Blocks)}"
        : FormattableString.Invariant($"cnn-lstm dropout {Dropout1}/{Dropout2}, LSTM {Lstm}, dense {Dense}");

    /// <summary>"2,2,2" -> [2,2,2], for the command line.</summary>
    public static IReadOnlyList<int> ParseBlocks(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var blocks = new List<int>();
        foreach (var p in parts)
        {
            if (!int.TryParse(p, out var n)) throw new FmnistException($"--blocks: '{text}' is not a comma-separated list of block counts (e.g. 2,2,2)");
            blocks.Add(n);
        }
        return blocks;
    }
}
