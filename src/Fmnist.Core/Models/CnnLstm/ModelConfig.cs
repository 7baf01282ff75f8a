namespace Fmnist.Models.CnnLstm;

/// <summary>Sizes and rates of the seed's CNN+LSTM. Defaults are the seed's best row.</summary>
public sealed record ModelConfig
{
    public int Filters1 { get; init; } = 32;
    public int Filters2 { get; init; } = 64;
    public int Lstm { get; init; } = 256;
    public int Dense { get; init; } = 128;
    public double Dropout1 { get; init; } = 0.4;
    public double Dropout2 { get; init; } = 0.5;

    /// <summary>Half-width of the uniform range of the conv kernels' initial values (Keras' RandomUniform default).</summary>
    public double ConvInitRange { get; init; } = 0.05;

    public void Validate()
    {
        if (Filters1 < 1 || Filters2 < 1 || Lstm < 1 || Dense < 1)
            throw new FmnistException($"model sizes must be positive (filters {Filters1}/{Filters2}, lstm {Lstm}, dense {Dense})");
        if (Dropout1 is < 0 or >= 1 || Dropout2 is < 0 or >= 1)
            throw new FmnistException($"dropout rates must be in [0, 1), got {Dropout1} and {Dropout2}");
    }
}
