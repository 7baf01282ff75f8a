using Fmnist.Imaging;

namespace Fmnist.Trust;

/// <summary>Whether a photo is a garment the model can classify, and if not, why, in words a person understands.</summary>
internal sealed record Verdict(bool Recognized, string? Reason)
{
    /// <summary>Recognized.</summary>
    public static readonly Verdict Yes = new(true, null);
}

/// <summary>Applies an <see cref="OodRule"/>: the photo checks first (they need no model), then the neighbour distance,
/// the feature distance, then the confidence.</summary>
internal static class Recognition
{
    /// <summary>The reasons, one per check, in the order they are tried.</summary>
    public static class Reasons
    {
        /// <summary>Nothing stands out from the background.</summary>
        public const string Blank = "the photo looks blank: nothing stands out from the background";
        /// <summary>A scene, not a product photo.</summary>
        public const string Cluttered = "no single object on a plain background";
        /// <summary>Text, noise, scattered shapes.</summary>
        public const string Fragmented = "several separate shapes, not one garment";
        /// <summary>Far from every training image.</summary>
        public const string Unfamiliar = "unlike any training garment";
        /// <summary>The model spreads its probability.</summary>
        public const string Unsure = "the model cannot tell which garment this is";
    }

    /// <summary>The verdict for one photo.</summary>
    /// <param name="signals">What preparing the photo measured.</param>
    /// <param name="neighbourDistance">Distance to the nearest training garment in the rule's <see cref="OodRule.NeighbourMetric"/> (0 when not measured).</param>
    /// <param name="confidence">The calibrated top probability.</param>
    /// <param name="rule">The thresholds.</param>
    /// <param name="featureDistance">The Mahalanobis distance of the network's features (<see cref="FeatureScores"/>);
    /// null where the model cannot give it, which skips that check.</param>
    public static Verdict Judge(PhotoSignals signals, double neighbourDistance, double confidence, OodRule rule, double? featureDistance = null)
    {
        if (signals.Contrast < rule.MinContrast) return new(false, Reasons.Blank);
        if (signals.BorderClutter > rule.MaxBorderClutter) return new(false, Reasons.Cluttered);
        if (signals.LargestShapeShare < rule.MinShapeShare) return new(false, Reasons.Fragmented);
        if (neighbourDistance > rule.MaxNeighbourDistance) return new(false, Reasons.Unfamiliar);
        if (featureDistance > rule.MaxFeatureDistance) return new(false, Reasons.Unfamiliar);
        if (confidence < rule.MinConfidence) return new(false, Reasons.Unsure);
        return Verdict.Yes;
    }
}
