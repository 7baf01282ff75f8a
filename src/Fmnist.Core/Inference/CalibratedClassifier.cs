using Fmnist.Evaluation;

namespace Fmnist.Inference;

/// <summary>A model whose probabilities are temperature-scaled (<see cref="Trust.Calibration"/>), and their top mapped when a
/// <see cref="Trust.TopMap"/> is given, after any views or members are averaged.</summary>
internal sealed class CalibratedClassifier(IClassifier inner, double temperature, Trust.TopMap? map = null) : IClassifier
{
    /// <summary>The temperature applied.</summary>
    public double Temperature { get; } = temperature;

    /// <summary>The top-probability map applied after the temperature, if any.</summary>
    public Trust.TopMap? Map { get; } = map;

    /// <summary>The uncalibrated model.</summary>
    public IClassifier Inner { get; } = inner;

    /// <inheritdoc/>
    public ModelDescription Description => Inner.Description;

    /// <summary><paramref name="model"/> itself when the temperature is 1 and there is no map.</summary>
    public static IClassifier Wrap(IClassifier model, double temperature, Trust.TopMap? map = null) =>
        temperature == 1 && map is null ? model : new CalibratedClassifier(model, temperature, map);

    /// <inheritdoc/>
    public float[] Probabilities(byte[] images, TtaMode tta = TtaMode.None) =>
        Trust.Calibration.Apply(Inner.Probabilities(images, tta), Temperature, Map);

    /// <inheritdoc/>
    public void Dispose() => Inner.Dispose();
}
