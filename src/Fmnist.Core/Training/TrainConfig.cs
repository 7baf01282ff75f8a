using Fmnist.Features;
using Fmnist.Models.CnnLstm;

namespace Fmnist.Training;

public enum LrSchedule { Constant, Cosine }

/// <summary>Everything that defines a training run. Defaults (one place) are the seed's best configuration.</summary>
public sealed record TrainConfig
{
    public string Preset { get; init; } = "seed";
    public ModelConfig Model { get; init; } = new();
    public AugmentConfig Augmentation { get; init; } = new();
    public AugmentMode Augment { get; init; } = AugmentMode.Offline;
    public int BatchSize { get; init; } = 256;
    public int Epochs { get; init; } = 10;
    public double LearningRate { get; init; } = 1e-3;
    public LrSchedule Schedule { get; init; } = LrSchedule.Cosine;
    public double LabelSmoothing { get; init; }
    /// <summary>Share of the training images held out for validation. 0 trains on all of them and keeps the
    /// last epoch: a final fit once the settings were chosen on a validation run.</summary>
    public double ValidationFraction { get; init; } = 0.2;

    [System.Text.Json.Serialization.JsonIgnore]
    public bool HasValidation => ValidationFraction > 0;
    public int Seed { get; init; } = 1;
    public int? TrainLimit { get; init; }

    public void Validate()
    {
        Model.Validate();
        if (BatchSize < 1) throw new FmnistException($"batch size must be positive, got {BatchSize}");
        if (Epochs < 1) throw new FmnistException($"epochs must be positive, got {Epochs}");
        if (LearningRate is <= 0 or > 1) throw new FmnistException($"learning rate must be in (0, 1], got {LearningRate}");
        if (LabelSmoothing is < 0 or >= 1) throw new FmnistException($"label smoothing must be in [0, 1), got {LabelSmoothing}");
        if (ValidationFraction is < 0 or >= 1) throw new FmnistException($"validation fraction must be in [0, 1), got {ValidationFraction}");
        var a = Augmentation;
        if (a.Shear is < 0 or > 1.2 || a.Zoom is < 0 or >= 1 || a.Shift is < 0 or > 0.5 || a.FlipProbability is < 0 or > 1 || a.Probability is < 0 or > 1)
            throw new FmnistException($"augmentation ranges out of bounds (shear {a.Shear} rad, zoom {a.Zoom}, shift {a.Shift}, flip {a.FlipProbability})");
        if (TrainLimit is < 20) throw new FmnistException($"the training image limit must be at least 20, got {TrainLimit}");
    }
}

/// <summary>Named starting points. "seed" is the seed's recipe; "improved" goes beyond it and is reported beside it.</summary>
public static class Presets
{
    public static readonly IReadOnlyList<string> Names = ["seed", "improved"];

    public static TrainConfig Get(string name) => name switch
    {
        "seed" => new TrainConfig(),
        // Fresh augmentation every epoch instead of one fixed copy, half the images left clean each time
        // (as in the seed's doubled set), softer shear, label smoothing, and 25 epochs of 48,000 images
        // (the same number of steps as 12.5 seed epochs). With 15 epochs it was still improving when the
        // learning rate ran out (validation 93.86%, below the seed recipe's 93.94%).
        "improved" => new TrainConfig
        {
            Preset = "improved",
            Augment = AugmentMode.Online,
            Augmentation = new AugmentConfig { Shear = 0.15, Zoom = 0.1, Shift = 0.1, FlipProbability = 0.5, Probability = 0.5 },
            LabelSmoothing = 0.1,
            Epochs = 25,
        },
        _ => throw new FmnistException($"unknown preset '{name}' (known: {string.Join(", ", Names)})"),
    };
}
