using Fmnist.Data;
using Fmnist.Inference;
using Fmnist.Training;

namespace Fmnist.Trust;

/// <summary>Calibrates a run or ensemble folder on its own validation split and writes its trust.json.</summary>
internal static class TrustWorkflow
{
    /// <summary>Training images held out to fit the neighbour threshold of a run that held out no validation images.</summary>
    public const int HeldOutWithoutValidation = 5_000;

    /// <summary>Fits and writes trust.json for the run or ensemble folder <paramref name="path"/>.</summary>
    /// <param name="path">A run folder or an ensemble folder (an .onnx file is refused: calibrate its run, then export).</param>
    /// <param name="train">The training file's images.</param>
    public static TrustInfo Calibrate(string path, LabeledImages train)
    {
        if (Classifiers.IsOnnxFile(path))
            throw new FmnistException($"{path}: calibrate the run folder it was exported from, then export again (the temperature goes inside the graph)");
        var config = Ensembles.EnsembleFolder.IsEnsemble(path)
            ? new Ensembles.EnsembleFolder(path).ReadInfo().MemberConfig(0)
            : new RunFolder(path).ReadInfo().Config;
        var source = train.Take(config.TrainLimit);
        TrustInfo info;
        FeatureScores? features = null;
        using (var model = Classifiers.OpenUncalibrated(path))
        {
            if (config.HasValidation)
            {
                var split = new ReferenceSplit(config.ValidationFraction, config.SplitSeed ?? config.Seed, config.TrainLimit);
                var validation = source.Select(Splits.Stratified(source.Labels, split.ValidationFraction, split.SplitSeed).Validation);
                (info, features) = TrustFit.Fit(model, validation, TrainingNeighbours.Of(train, split), split,
                    $"the run's validation split ({validation.Count:N0} images, split seed {split.SplitSeed})");
                // Written before trust.json names its threshold; a refit without features leaves no stale file behind.
                if (features is not null) features.Save(path);
                else File.Delete(Path.Combine(path, FeatureScores.FileName));
            }
            else
            {
                info = WithoutValidation(source, config);
                File.Delete(Path.Combine(path, FeatureScores.FileName));
            }
        }
        info.Write(path);
        return info;
    }

    /// <summary>
    /// A run trained on every image has nothing held out to fit a temperature on, so it keeps 1 and no confidence
    /// threshold; the neighbour threshold, which depends on the images alone, is fitted on a stratified
    /// <see cref="HeldOutWithoutValidation"/> of them against the rest.
    /// </summary>
    private static TrustInfo WithoutValidation(LabeledImages source, TrainConfig config)
    {
        double fraction = Math.Min(0.5, (double)HeldOutWithoutValidation / source.Count);
        var split = new ReferenceSplit(fraction, config.Seed, config.TrainLimit);
        var held = source.Select(Splits.Stratified(source.Labels, fraction, config.Seed).Validation);
        var photos = ProductPhoto.RoundTrip(held);
        var distance = TrainingNeighbours.Of(source, split).NearestCosine(photos.SelectMany(p => p.Pixels).ToArray());
        var rule = TrustFit.FitRule(photos.Select(p => p.Signals).ToList(), distance, null);
        // The neighbours at predict time are all the run's training images, the held-out ones included.
        return new TrustInfo(1, $"nothing: the run held out no validation images, so its probabilities are uncalibrated; the neighbour threshold was fitted on {held.Count:N0} training images against the others",
            held.Count, null, null, rule, new ReferenceSplit(0, config.Seed, config.TrainLimit));
    }
}
