namespace Fmnist.Trust;

/// <summary>
/// When a prediction counts as recognized: the photo checks (fixed, see <see cref="Imaging.PhotoSignals"/>) and two
/// thresholds fitted on the validation garments so that <see cref="ValidationKept"/> of them pass all checks.
/// </summary>
/// <param name="MinContrast">Below this the photo is blank (<see cref="Imaging.PhotoSignals.Contrast"/>).</param>
/// <param name="MaxBorderClutter">Above this the background is not plain.</param>
/// <param name="MinShapeShare">Below this the image is several separate shapes.</param>
/// <param name="MaxNeighbourDistance">Above this distance to the nearest training garment, in <paramref name="NeighbourMetric"/>,
/// the image is unlike any of them.</param>
/// <param name="MinConfidence">Below this calibrated top probability the model cannot tell; 0 when not fitted.</param>
/// <param name="ValidationKept">The share of validation garments, rendered as photos, that pass every check.</param>
/// <param name="ValidationImages">How many validation garments the thresholds were fitted on.</param>
/// <param name="NeighbourMetric">How the neighbour distance is measured: <see cref="Metrics.Cosine"/> (grey levels,
/// <see cref="TrainingNeighbours.NearestCosine"/>) or, in files written before it, <see cref="Metrics.Dice"/>
/// (silhouettes, <see cref="TrainingNeighbours.NearestDice"/>).</param>
internal sealed record OodRule(double MinContrast, double MaxBorderClutter, double MinShapeShare, double MaxNeighbourDistance,
    double MinConfidence, double ValidationKept, int ValidationImages, string NeighbourMetric = OodRule.Metrics.Cosine)
{
    /// <summary>The fixed photo checks alone, no fitted threshold (what a model without trust.json gets; both
    /// distances are at most 1, so a limit of 1 refuses nothing).</summary>
    public static OodRule PhotoChecksOnly => new(Defaults.MinContrast, Defaults.MaxBorderClutter, Defaults.MinShapeShare,
        1, 0, double.NaN, 0);

    /// <summary>Above this Mahalanobis distance of the network's penultimate features to the nearest class mean
    /// (<see cref="FeatureScores"/>) the image is unlike any training garment; set only in
    /// <see cref="TrustInfo.OodWithFeatures"/>.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double? MaxFeatureDistance { get; init; }

    /// <summary>The threshold of files written before <see cref="NeighbourMetric"/> existed: a Dice dissimilarity.</summary>
    [System.Text.Json.Serialization.JsonPropertyName("max_neighbour_dice")]
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double? LegacyMaxNeighbourDice { get; init; }

    /// <summary>The rule as the current code reads it: an older file's Dice threshold under its own metric.</summary>
    public OodRule Upgraded() => LegacyMaxNeighbourDice is { } dice
        ? this with { MaxNeighbourDistance = dice, NeighbourMetric = Metrics.Dice, LegacyMaxNeighbourDice = null }
        : this;

    /// <summary>The neighbour distances a rule can name.</summary>
    public static class Metrics
    {
        /// <summary>1 - cosine similarity of the grey levels (chosen on the dev benchmark, docs/trust.md).</summary>
        public const string Cosine = "cosine";
        /// <summary>Dice dissimilarity of the silhouettes (pixel &gt; 40).</summary>
        public const string Dice = "dice";
    }

    /// <summary>The photo checks' levels, chosen by looking at validation garments and the dev OOD sets (docs/trust.md).</summary>
    public static class Defaults
    {
        /// <summary>Grey levels the object must stand out by.</summary>
        public const double MinContrast = 24;
        /// <summary>Share of the border allowed to differ from the backdrop.</summary>
        public const double MaxBorderClutter = 0.25;
        /// <summary>Share of the ink the largest shape must hold.</summary>
        public const double MinShapeShare = 0.35;
    }
}

/// <summary>Which training images a model's neighbours are searched among: the run's own training split (its
/// validation images held out), so a validation image is never its own neighbour.</summary>
internal sealed record ReferenceSplit(double ValidationFraction, int SplitSeed, int? TrainLimit);

/// <summary>
/// What trust.json holds (beside a run's config.json, or an ensemble's ensemble.json; in an ONNX file's
/// metadata): the temperature, what it was fitted on and what it changed, and the rule that decides `recognized`.
/// </summary>
/// <param name="Temperature">Divides the logits (of the members' averaged output, for an ensemble); 1 = unchanged.</param>
/// <param name="CalibratedOn">In words: which images the temperature and thresholds were fitted on, or why not.</param>
/// <param name="CalibrationImages">How many.</param>
/// <param name="Before">NLL and ECE on those images at temperature 1.</param>
/// <param name="After">The same at <see cref="Temperature"/>.</param>
/// <param name="Ood">The recognition rule.</param>
/// <param name="Reference">The training images the neighbour distance is measured against.</param>
/// <param name="TopMap">The map of the top probability applied after the temperature, when it lowered the NLL of held-out
/// validation images (<see cref="Trust.TopMap.FitIfItHelps"/>); null in older files and where it did not help.</param>
/// <param name="OodWithFeatures">The rule with the feature check as well (<see cref="FeatureScores"/>), its thresholds
/// fitted together, applied instead of <paramref name="Ood"/> where the features can be computed (a TorchSharp run
/// folder, not its ONNX export or an ensemble); null for models that expose no features and in older files.</param>
internal sealed record TrustInfo(double Temperature, string CalibratedOn, int CalibrationImages, CalibrationScore? Before,
    CalibrationScore? After, OodRule Ood, ReferenceSplit Reference, TopMap? TopMap = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    OodRule? OodWithFeatures = null)
{
    /// <summary>The file name inside a run or ensemble folder.</summary>
    public const string FileName = "trust.json";

    /// <summary>trust.json in <paramref name="folder"/>, or null when the model was never calibrated.</summary>
    public static TrustInfo? Read(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return null;
        var info = JsonFiles.Read<TrustInfo>(path);
        if (info.Ood is not null) info = info with { Ood = info.Ood.Upgraded() };
        if (info.Ood is null || info.Reference is null || !(info.Temperature > 0))
            throw new FmnistException($"{path}: incomplete (temperature, rule or reference missing)");
        return info;
    }

    /// <summary>Writes trust.json into <paramref name="folder"/> (atomically).</summary>
    public void Write(string folder) => JsonFiles.Write(Path.Combine(folder, FileName), this);
}
