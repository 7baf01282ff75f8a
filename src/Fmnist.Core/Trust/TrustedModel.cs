using Fmnist.Data;
using Fmnist.Evaluation;
using Fmnist.Imaging;
using Fmnist.Inference;

namespace Fmnist.Trust;

/// <summary>A class and its calibrated probability.</summary>
/// <param name="Label">The class's label, 0..9.</param>
/// <param name="Class">Its name (<see cref="Data.ClassNames"/>).</param>
/// <param name="Probability">The model's calibrated probability of it.</param>
public sealed record ClassScore(int Label, string Class, double Probability);

/// <summary>What the model says about one photo: the top classes (always, even when not recognized), whether it is
/// a garment the model can classify and, when not, why.</summary>
/// <param name="Name">The photo's file (or the name it was given).</param>
/// <param name="Top">The most probable classes, most probable first.</param>
/// <param name="Recognized">Whether the photo looks like the product photos the model learned from (docs/trust.md).</param>
/// <param name="Reason">Why it was not recognized, in words; null when it was.</param>
/// <param name="NeighbourDice">Dice dissimilarity to the nearest training garment (0 = the same silhouette, 1 = no
/// overlap); null when the model has no trust.json to say which training images are its own.</param>
public sealed record JudgedPrediction(string Name, IReadOnlyList<ClassScore> Top, bool Recognized, string? Reason, double? NeighbourDice);

/// <summary>
/// A model with what it needs to be honest: calibrated probabilities, the recognition rule from its trust.json
/// and the training images it learned from. Models never calibrated keep the photo checks and say so in
/// <see cref="CalibrationNote"/>.
/// </summary>
internal sealed class TrustedModel : IDisposable
{
    private readonly Judge _judge;

    /// <summary>Opens <paramref name="path"/> (run folder, ensemble folder or .onnx file) with its trust.json.</summary>
    /// <param name="path">The model.</param>
    /// <param name="train">The training file's images (the neighbours are the run's own share of them).</param>
    /// <param name="tta">Test-time views averaged for every answer.</param>
    public TrustedModel(string path, LabeledImages train, TtaMode tta = TtaMode.None)
        : this(TtaClassifier.Wrap(Classifiers.Open(path), tta), Classifiers.Trust(path), train)
    {
    }

    /// <summary>A model already opened (calibrated) and its trust.json.</summary>
    public TrustedModel(IClassifier model, TrustInfo? info, LabeledImages train)
    {
        Model = model;
        Info = info;
        _judge = new Judge(info, train, model);
    }

    /// <summary>The calibrated model.</summary>
    public IClassifier Model { get; }

    /// <summary>The trust.json, or null for a model never calibrated.</summary>
    public TrustInfo? Info { get; }

    /// <summary>What decides `recognized`.</summary>
    public Judge Judge => _judge;

    /// <summary>How the probabilities were calibrated, in words.</summary>
    public string CalibrationNote => Judge.Note(Info);

    /// <summary>Classifies and judges <paramref name="photos"/>, keeping the <paramref name="top"/> classes of each.</summary>
    public IReadOnlyList<JudgedPrediction> Classify(IReadOnlyList<Photo> photos, int top = 3)
    {
        if (photos.Count == 0) return [];
        var pixels = photos.SelectMany(p => p.Pixels).ToArray();
        // With a feature check, the features come from the same forward pass as the probabilities.
        var (probabilities, recorded) = _judge.Pass(Model, pixels);
        return _judge.Predictions(photos, probabilities, _judge.Distances(pixels, _judge.FeatureDistance(recorded, photos.Count)), top);
    }

    /// <inheritdoc/>
    public void Dispose() => Model.Dispose();
}
