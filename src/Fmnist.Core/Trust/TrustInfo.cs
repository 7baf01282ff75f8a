namespace Fmnist.Trust;

/// <summary>
/// When a prediction counts as recognized: the photo checks (fixed, see <see cref="Imaging.PhotoSignals"/>) and two
/// thresholds fitted on the validation garments so that <see cref="ValidationKept"/> of them pass all checks.
/// </summary>
/// <param name="MinContrast">Below this the photo is blank (<see cref="Imaging.PhotoSignals.Contrast"/>).</param>
/// <param name="MaxBorderClutter">Above this the background is not plain.</param>
/// <param name="MinShapeShare">Below this the image is several separate shapes.</param>
/// <param name="MaxNeighbourDice">Above this Dice dissimilarity to the nearest training garment the image is
/// unlike any of them (<see cref="TrainingNeighbours.NearestDice"/>).</param>
/// <param name="MinConfidence">Below this calibrated top probability the model cannot tell; 0 when not fitted.</param>
/// <param name="ValidationKept">The share of validation garments, rendered as photos, that pass every check.</param>
/// <param name="ValidationImages">How many validation garments the thresholds were fitted on.</param>
internal sealed record OodRule(double MinContrast, double MaxBorderClutter, double MinShapeShare, double MaxNeighbourDice,
    double MinConfidence, double ValidationKept, int ValidationImages)
{
    /// <summary>The fixed photo checks alone, no fitted threshold (what a model without trust.json gets).</summary>
    public static OodRule PhotoChecksOnly => new(Defaults.MinContrast, Defaults.MaxBorderClutter, Defaults.MinShapeShare,
        1, 0, double.NaN, 0);

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
internal sealed record TrustInfo(double Temperature, string CalibratedOn, int CalibrationImages, CalibrationScore? Before,
    CalibrationScore? After, OodRule Ood, ReferenceSplit Reference)
{
    /// <summary>The file name inside a run or ensemble folder.</summary>
    public const string FileName = "trust.json";

    /// <summary>trust.json in <paramref name="folder"/>, or null when the model was never calibrated.</summary>
    public static TrustInfo? Read(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return null;
        var info = JsonFiles.Read<TrustInfo>(path);
        if (info.Ood is null || info.Reference is null || !(info.Temperature > 0))
            throw new FmnistException($"{path}: incomplete (temperature, rule or reference missing)");
        return info;
    }

    /// <summary>Writes trust.json into <paramref name="folder"/> (atomically).</summary>
    public void Write(string folder) => JsonFiles.Write(Path.Combine(folder, FileName), this);
}
