using Fmnist.Data;
using Fmnist.Imaging;

namespace Fmnist.Trust;

/// <summary>Decides `recognized` for photos whose probabilities are already known (the server batches those itself).</summary>
internal sealed class Judge : IDisposable
{
    private readonly TrainingNeighbours? _neighbours;
    private readonly Inference.IClassifier? _owned;

    /// <summary>The rule of <paramref name="info"/> (the photo checks alone when null) and the run's share of <paramref name="train"/>.</summary>
    /// <param name="info">The model's trust.json.</param>
    /// <param name="train">The training file's images.</param>
    /// <param name="model">The model, so that a TorchSharp run folder gets the rule with the feature check
    /// (<see cref="TrustInfo.OodWithFeatures"/>); without it, and for other models, the rule every model can apply.</param>
    public Judge(TrustInfo? info, LabeledImages train, Inference.IClassifier? model = null)
    {
        Rule = info?.Ood ?? OodRule.PhotoChecksOnly;
        if (info is not null && train.Count > 0) _neighbours = TrainingNeighbours.Of(train, info.Reference);
        if (info?.OodWithFeatures is { } withFeatures && model is not null && FeatureScores.Load(model) is { } features)
        {
            Features = features;
            Rule = withFeatures;
        }
    }

    /// <summary>The feature statistics the rule's feature check reads; null when the rule has none.</summary>
    public FeatureScores? Features { get; }

    /// <summary>The judge of the model at <paramref name="path"/> for callers that do not hold it open: it loads the
    /// network itself when its rule with the feature check applies (and disposes it with the judge). With several
    /// models averaged, pass null: the first one's features do not speak for the average.</summary>
    public static Judge Open(string? path, TrustInfo? info, LabeledImages train)
    {
        if (path is null || info?.OodWithFeatures is null || Inference.Classifiers.IsOnnxFile(path) || Ensembles.EnsembleFolder.IsEnsemble(path))
            return new Judge(info, train);
        var model = Inference.Classifiers.OpenUncalibrated(path);
        return new Judge(info, train, model, owned: true);
    }

    private Judge(TrustInfo? info, LabeledImages train, Inference.IClassifier model, bool owned) : this(info, train, model)
    {
        if (owned) _owned = model;
    }

    /// <summary>Releases the network <see cref="Open"/> loaded, if any.</summary>
    public void Dispose() => _owned?.Dispose();

    /// <summary>The recognition rule in force.</summary>
    public OodRule Rule { get; }

    /// <summary>The training images the neighbour distance is measured against; null without trust.json.</summary>
    public TrainingNeighbours? Neighbours => _neighbours;

    /// <summary>How a model with <paramref name="info"/> was calibrated, in words.</summary>
    public static string Note(TrustInfo? info) => info is { } i
        ? $"temperature {i.Temperature:0.###}{(i.TopMap is null ? "" : " and a map of the top probability")} fitted on {i.CalibratedOn}"
        : "not calibrated (no trust.json: run `fmnist calibrate`); only the photo checks decide 'recognized'";

    /// <summary>The top classes and the verdict of each photo, given its calibrated probabilities (N*10).</summary>
    public IReadOnlyList<JudgedPrediction> Predictions(IReadOnlyList<Photo> photos, float[] probabilities, int top = 3) =>
        Predictions(photos, probabilities, Distances(photos.SelectMany(p => p.Pixels).ToArray()), top);

    /// <summary>The Dice dissimilarity of each image (N*784) to its nearest training garment (shown with a prediction),
    /// its distance in the rule's own metric (what decides), both null without trust.json, and the Mahalanobis distance
    /// of its features (null where the rule has no feature check).</summary>
    /// <param name="pixels">N images of 784 bytes.</param>
    /// <param name="featureDistance">The Mahalanobis distances of <see cref="Features"/> when the caller has already scored them.</param>
    public PhotoDistances Distances(byte[] pixels, double[]? featureDistance = null)
    {
        var dice = _neighbours?.NearestDice(pixels);
        return new(dice, Rule.NeighbourMetric == OodRule.Metrics.Dice ? dice : _neighbours?.Nearest(pixels, Rule.NeighbourMetric),
            Features is null ? null : featureDistance ?? Features.Score(pixels).Mahalanobis);
    }

    /// <summary><paramref name="model"/>'s probabilities of <paramref name="images"/> and, where the rule has a feature check,
    /// the features recorded on the way (<see cref="FeatureScores.ProbabilitiesWithFeatures"/>), for <see cref="FeatureDistance"/>.</summary>
    public (float[] Probabilities, float[]? Features) Pass(Inference.IClassifier model, byte[] images) =>
        Features is { } features ? features.ProbabilitiesWithFeatures(model, images) : (model.Probabilities(images), null);

    /// <summary>The Mahalanobis distances of the first <paramref name="count"/> rows <see cref="Pass"/> recorded; null when it
    /// recorded none (<see cref="Distances"/> then scores the images itself, where the rule has a feature check).</summary>
    public double[]? FeatureDistance(float[]? recorded, int count) =>
        recorded is not null && Features is { } features ? features.Mahalanobis(recorded, count) : null;

    /// <summary>As <see cref="Predictions(IReadOnlyList{Photo}, float[], int)"/> with the <see cref="Distances"/> already measured.</summary>
    public IReadOnlyList<JudgedPrediction> Predictions(IReadOnlyList<Photo> photos, float[] probabilities,
        PhotoDistances distances, int top = 3)
    {
        var (dice, distance, feature) = distances;
        return photos.Select((p, i) =>
        {
            var row = probabilities.AsSpan(i * ClassNames.Count, ClassNames.Count).ToArray();
            var ranked = Enumerable.Range(0, ClassNames.Count).OrderByDescending(c => row[c]).ThenBy(c => c)
                .Take(top).Select(c => new ClassScore(c, ClassNames.All[c], Math.Round(row[c], 6))).ToList();
            var verdict = Recognition.Judge(p.Signals, distance?[i] ?? 0, row.Max(), Rule, feature?[i]);
            return new JudgedPrediction(p.Name, ranked, verdict.Recognized, verdict.Reason, dice is null ? null : Math.Round(dice[i], 4));
        }).ToList();
    }
}

/// <summary>How far each photo is from the training garments.</summary>
/// <param name="Dice">Dice dissimilarity of the silhouettes (shown with a prediction); null without trust.json.</param>
/// <param name="Distance">The distance in the rule's own neighbour metric (what decides); null without trust.json.</param>
/// <param name="Feature">The Mahalanobis distance of the network's features; null where that check is skipped.</param>
internal sealed record PhotoDistances(double[]? Dice, double[]? Distance, double[]? Feature);
