using Fmnist.Data;
using Fmnist.Inference;

namespace Fmnist.Explanations;

/// <summary>One class and the probability the model gave it.</summary>
internal sealed record ClassScore(int Label, double Probability)
{
    public string Class => ClassNames.All[Label];
}

/// <summary>Why the model said what it said about one image.</summary>
/// <param name="Image">The 28x28 image the model saw (784 raw bytes, 0 = background).</param>
/// <param name="Label">The class explained: the model's top class.</param>
/// <param name="Occlusion">28x28 row-major: the drop in P(<paramref name="Label"/>) when a square over the pixel is blacked out (<see cref="Explanations.Occlusion"/>).</param>
/// <param name="GradCam">28x28 row-major Grad-CAM, largest value 1; null where the model has no Grad-CAM (<see cref="Explanations.GradCam"/>).</param>
/// <param name="Top">The most likely classes, most likely first.</param>
/// <param name="Neighbours">The nearest training images, nearest first (empty without a training set).</param>
/// <param name="Settings">The occlusion patch and stride.</param>
/// <param name="Probabilities">All ten class probabilities the model gave the image (what <paramref name="Top"/> is taken from).</param>
internal sealed record Explanation(byte[] Image, int Label, float[] Occlusion, float[]? GradCam, IReadOnlyList<ClassScore> Top,
    IReadOnlyList<Neighbour> Neighbours, OcclusionSettings Settings, float[] Probabilities)
{
    public string Class => ClassNames.All[Label];
}

/// <summary>What an explanation holds beyond the map.</summary>
/// <param name="Top">Classes listed, most likely first.</param>
/// <param name="Neighbours">Nearest training images shown.</param>
/// <param name="Occlusion">Patch and stride; null takes <see cref="OcclusionSettings"/>' defaults.</param>
internal sealed record ExplainOptions(int Top = 3, int Neighbours = ExplainOptions.DefaultNeighbours, OcclusionSettings? Occlusion = null)
{
    public const int DefaultNeighbours = 8, MaxNeighbours = 16;

    public OcclusionSettings Settings => Occlusion ?? new OcclusionSettings();

    public void Validate()
    {
        if (Top is < 1 or > ClassNames.Count) throw new FmnistException($"top classes must be 1..{ClassNames.Count}, got {Top}");
        if (Neighbours is < 0 or > MaxNeighbours) throw new FmnistException($"neighbours must be 0..{MaxNeighbours}, got {Neighbours}");
        Settings.Validate();
    }
}

/// <summary>
/// Builds <see cref="Explanation"/>s. The model runs once, on the images and all their occluded copies together
/// (<see cref="Inputs"/>), so a caller with its own way to run a model (the server's batcher) gets the same result
/// from <see cref="FromProbabilities"/>.
/// </summary>
internal static class Explainer
{
    /// <summary>The images followed by every image's occluded copies: what the model is asked about.</summary>
    public static byte[] Inputs(byte[] images, OcclusionSettings settings) => [.. images, .. Occlusion.Copies(images, settings)];

    /// <summary>Explanations from the model's probabilities for <see cref="Inputs"/>; each explains its top class.</summary>
    public static IReadOnlyList<Explanation> FromProbabilities(byte[] images, float[] probabilities, NeighbourIndex? neighbours, ExplainOptions options,
        IReadOnlyList<float[]>? gradCams = null)
    {
        options.Validate();
        var settings = options.Settings;
        int n = images.Length / ImageShape.Pixels;
        if (probabilities.Length != n * (1 + settings.Copies) * ClassNames.Count)
            throw new ArgumentException($"{probabilities.Length} probabilities for {n} images and their occluded copies", nameof(probabilities));
        var near = neighbours is not null && options.Neighbours > 0 ? neighbours.Nearest(images, options.Neighbours) : null;
        return [.. Enumerable.Range(0, n).Select(i =>
        {
            var (probs, map, label) = Occlusion.Split(probabilities, n, i, settings);
            var top = Enumerable.Range(0, ClassNames.Count).Select(c => new ClassScore(c, probs[c]))
                .OrderByDescending(s => s.Probability).ThenBy(s => s.Label).Take(options.Top).ToList();
            return new Explanation(images.AsSpan(i * ImageShape.Pixels, ImageShape.Pixels).ToArray(), label, map, gradCams?[i], top,
                near?[i] ?? [], settings, probs);
        })];
    }

    /// <summary>Explains each image with one model: occlusion, and Grad-CAM where the model has it.</summary>
    public static IReadOnlyList<Explanation> Explain(IClassifier model, byte[] images, NeighbourIndex? neighbours, ExplainOptions? options = null)
    {
        options ??= new ExplainOptions();
        options.Validate();
        var probabilities = model.Probabilities(Inputs(images, options.Settings));
        int n = images.Length / ImageShape.Pixels;
        var labels = Enumerable.Range(0, n).Select(i => Occlusion.ArgMax(probabilities.AsSpan(i * ClassNames.Count, ClassNames.Count))).ToList();
        return FromProbabilities(images, probabilities, neighbours, options, GradCam.Compute(model, images, labels));
    }

    /// <summary>
    /// As <see cref="Explain(IClassifier, byte[], NeighbourIndex?, ExplainOptions?)"/> for the models the user named: one
    /// is opened as <see cref="Classifiers.Open"/> does; several are an ensemble, loaded one at a time and their
    /// probabilities averaged (the occlusion map of the average is the average of the maps). Grad-CAM needs one network.
    /// </summary>
    public static IReadOnlyList<Explanation> Explain(IReadOnlyList<string> models, byte[] images, NeighbourIndex? neighbours, ExplainOptions? options = null)
    {
        if (models.Count == 0) throw new ArgumentException("no model given", nameof(models));
        options ??= new ExplainOptions();
        options.Validate();
        if (models.Count == 1)
        {
            Classifiers.Check(models[0]);
            using var model = Classifiers.Open(models[0]);
            return Explain(model, images, neighbours, options);
        }
        var probabilities = Experiments.EvaluationWorkflow.Probabilities(models, Inputs(images, options.Settings));
        return FromProbabilities(images, probabilities, neighbours, options);
    }
}
