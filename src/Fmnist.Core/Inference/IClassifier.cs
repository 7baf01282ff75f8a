namespace Fmnist.Inference;

/// <summary>What a loaded model tells about itself (for `evaluate --json`, `serve`'s /api/model).</summary>
/// <param name="Source">The run folder or model file it was loaded from, as the user gave it.</param>
/// <param name="Runtime">"torchsharp" or "onnxruntime".</param>
/// <param name="Parameters">The number of trainable parameters.</param>
/// <param name="Config">The training config (null when the file does not carry one).</param>
/// <param name="TestAccuracy">From the run's result.json or the file's metadata; null when never scored.</param>
public sealed record ModelDescription(string Source, string Runtime, long Parameters, Training.TrainConfig? Config, double? TestAccuracy);

/// <summary>
/// A trained model ready to classify 28x28 images given as raw pixel bytes (0 = background, as in
/// Fashion-MNIST): a TorchSharp run folder or an exported ONNX file. Standardization is the model's
/// business, so callers pass raw images and get class probabilities back.
/// </summary>
public interface IClassifier : IDisposable
{
    /// <summary>Where the model came from and what it is.</summary>
    ModelDescription Description { get; }

    /// <summary>N*784 bytes in, N*10 class probabilities (row-major) out.</summary>
    /// <param name="images">N images of 784 raw pixel bytes each.</param>
    /// <param name="tta">Test-time augmentation: the views whose probabilities are averaged (Evaluation.Tta).</param>
    float[] Probabilities(byte[] images, Evaluation.TtaMode tta = Evaluation.TtaMode.None);
}

/// <summary>A model whose every answer averages the given test-time views (`serve --tta`): callers that ask
/// for no views get these; callers that ask for views get theirs.</summary>
internal sealed class TtaClassifier(IClassifier inner, Evaluation.TtaMode mode) : IClassifier
{
    /// <summary>The model whose answers are averaged over views.</summary>
    public IClassifier Inner => inner;

    /// <summary>The inner model's description, its runtime naming the views.</summary>
    public ModelDescription Description { get; } = inner.Description with { Runtime = $"{inner.Description.Runtime}, {Evaluation.Tta.Name(mode)} TTA ({Evaluation.Tta.Views(mode).Count} views)" };

    /// <summary><paramref name="model"/> itself when <paramref name="mode"/> is none.</summary>
    public static IClassifier Wrap(IClassifier model, Evaluation.TtaMode mode) => mode == Evaluation.TtaMode.None ? model : new TtaClassifier(model, mode);

    /// <inheritdoc/>
    public float[] Probabilities(byte[] images, Evaluation.TtaMode tta = Evaluation.TtaMode.None) =>
        inner.Probabilities(images, tta == Evaluation.TtaMode.None ? mode : tta);

    /// <inheritdoc/>
    public void Dispose() => inner.Dispose();
}

/// <summary>The mean of several models' probabilities (an ensemble), summed in float as each arrives and
/// divided once at the end, so models can be loaded and released one at a time.</summary>
internal sealed class ProbabilityMean
{
    private float[]? _sum;
    private int _count;

    /// <summary>Adds one model's probabilities (N*10).</summary>
    public void Add(float[] probabilities)
    {
        if (_sum is null) _sum = probabilities;
        else
        {
            if (probabilities.Length != _sum.Length) throw new ArgumentException($"{probabilities.Length} probabilities where the others had {_sum.Length}", nameof(probabilities));
            for (int i = 0; i < _sum.Length; i++) _sum[i] += probabilities[i];
        }
        _count++;
    }

    /// <summary>The mean of everything added; call it once, after the last <see cref="Add"/>.</summary>
    public float[] Result()
    {
        if (_sum is null) throw new InvalidOperationException("no probabilities were added");
        if (_count > 1)
            for (int i = 0; i < _sum.Length; i++) _sum[i] /= _count;
        return _sum;
    }
}
