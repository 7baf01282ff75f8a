using Fmnist.Evaluation;

namespace Fmnist.Inference;

/// <summary>A model whose probabilities are temperature-scaled (<see cref="Trust.Calibration"/>) after any views or members are averaged.</summary>
internal sealed class CalibratedClassifier(IClassifier inner, double temperature) : IClassifier
{
    /// <summary>The temperature applied.</summary>
    public double Temperature { get; } = temperature;

    /// <summary>The uncalibrated model.</summary>
    public IClassifier Inner { get; } = inner;

    /// <inheritdoc/>
    public ModelDescription Description => Inner.Description;

    /// <summary><paramref name="model"/> itself when the temperature is 1.</summary>
    public static IClassifier Wrap(IClassifier model, double temperature) =>
        temperature == 1 ? model : new CalibratedClassifier(model, temperature);

    /// <inheritdoc/>
    public float[] Probabilities(byte[] images, TtaMode tta = TtaMode.None) =>
        Trust.Calibration.Apply(Inner.Probabilities(images, tta), Temperature);

    /// <inheritdoc/>
    public void Dispose() => Inner.Dispose();
}
