using Fmnist.Data;
using Fmnist.Imaging;

namespace Fmnist.Trust;

/// <summary>Decides `recognized` for photos whose probabilities are already known (the server batches those itself).</summary>
internal sealed class Judge
{
    private readonly TrainingNeighbours? _neighbours;

    /// <summary>The rule of <paramref name="info"/> (the photo checks alone when null) and the run's share of <paramref name="train"/>.</summary>
    public Judge(TrustInfo? info, LabeledImages train)
    {
        Rule = info?.Ood ?? OodRule.PhotoChecksOnly;
        if (info is not null && train.Count > 0) _neighbours = TrainingNeighbours.Of(train, info.Reference);
    }

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
    /// and its distance in the rule's own metric (what decides); both null without trust.json.</summary>
    public (double[]? Dice, double[]? Distance) Distances(byte[] pixels)
    {
        var dice = _neighbours?.NearestDice(pixels);
        return (dice, Rule.NeighbourMetric == OodRule.Metrics.Dice ? dice : _neighbours?.Nearest(pixels, Rule.NeighbourMetric));
    }

    /// <summary>As <see cref="Predictions(IReadOnlyList{Photo}, float[], int)"/> with the <see cref="Distances"/> already measured.</summary>
    public IReadOnlyList<JudgedPrediction> Predictions(IReadOnlyList<Photo> photos, float[] probabilities,
        (double[]? Dice, double[]? Distance) distances, int top = 3)
    {
        var (dice, distance) = distances;
        return photos.Select((p, i) =>
        {
            var row = probabilities.AsSpan(i * ClassNames.Count, ClassNames.Count).ToArray();
            var ranked = Enumerable.Range(0, ClassNames.Count).OrderByDescending(c => row[c]).ThenBy(c => c)
                .Take(top).Select(c => new ClassScore(c, ClassNames.All[c], Math.Round(row[c], 6))).ToList();
            var verdict = Recognition.Judge(p.Signals, distance?[i] ?? 0, row.Max(), Rule);
            return new JudgedPrediction(p.Name, ranked, verdict.Recognized, verdict.Reason, dice is null ? null : Math.Round(dice[i], 4));
        }).ToList();
    }
}
