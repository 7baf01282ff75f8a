using Fmnist.Data;
using Fmnist.Trust;

namespace Fmnist.Tests;

/// <summary>Temperature scaling, ECE and NLL on logits whose right answer is known.</summary>
public class CalibrationTests
{
    /// <summary>Labels drawn from softmax(z), the model reporting softmax(k*z): the fitted temperature must be about k.</summary>
    private static (float[] Probabilities, byte[] Labels) Overconfident(int n, double k, int seed)
    {
        var rng = new Random(seed);
        var probs = new float[n * ClassNames.Count];
        var labels = new byte[n];
        var z = new double[ClassNames.Count];
        for (int i = 0; i < n; i++)
        {
            for (int c = 0; c < z.Length; c++) z[c] = rng.NextDouble() * 4;
            var truth = Softmax(z, 1);
            double u = rng.NextDouble(), cum = 0;
            int label = ClassNames.Count - 1;
            for (int c = 0; c < z.Length; c++) { cum += truth[c]; if (u < cum) { label = c; break; } }
            labels[i] = (byte)label;
            var reported = Softmax(z, k);
            for (int c = 0; c < z.Length; c++) probs[i * ClassNames.Count + c] = (float)reported[c];
        }
        return (probs, labels);
    }

    private static double[] Softmax(double[] z, double k)
    {
        double max = z.Max() * k;
        var e = z.Select(v => Math.Exp(v * k - max)).ToArray();
        double sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    [Theory]
    [InlineData(3.0)]
    [InlineData(0.5)]
    public void FitTemperature_RecoversTheScaleOfTheLogits(double k)
    {
        var (probs, labels) = Overconfident(20_000, k, seed: 7);
        Assert.InRange(Calibration.FitTemperature(probs, labels), k * 0.93, k * 1.07);
    }

    [Fact]
    public void Calibrating_LowersEceAndNll_AndKeepsEveryArgmax()
    {
        var (probs, labels) = Overconfident(20_000, 3, seed: 11);
        double t = Calibration.FitTemperature(probs, labels);
        var calibrated = Calibration.Apply(probs, t);
        var before = Calibration.Score(probs, labels);
        var after = Calibration.Score(calibrated, labels);
        Assert.True(before.Ece > 0.1, $"ECE before {before.Ece}");
        Assert.True(after.Ece < 0.02, $"ECE after {after.Ece}");
        Assert.True(after.Nll < before.Nll);
        Assert.Equal(Evaluation.Evaluator.ArgMax(probs), Evaluation.Evaluator.ArgMax(calibrated));
    }

    /// <summary>Labels drawn from softmax(z); the model reports a label-smoothed mix, 0.7 softmax(2z) + 0.03: a curve
    /// one temperature cannot straighten.</summary>
    private static (float[] Probabilities, byte[] Labels) Smoothed(int n, int seed)
    {
        var (sharp, labels) = Overconfident(n, 2, seed);
        return (sharp.Select(p => 0.7f * p + 0.03f).ToArray(), labels);
    }

    [Fact]
    public void TopMap_StraightensWhatTheTemperatureCannot_OnFreshImages_AndKeepsEveryArgmax()
    {
        var (fit, fitLabels) = Smoothed(20_000, seed: 21);
        var (fresh, freshLabels) = Smoothed(20_000, seed: 22);
        double t = Calibration.FitTemperature(fit, fitLabels);
        var map = TopMap.FitIfItHelps(Calibration.Apply(fit, t), fitLabels);
        Assert.NotNull(map);
        Assert.True(map.Confidence.Zip(map.Confidence.Skip(1)).All(k => k.First < k.Second), "knots must rise");
        Assert.True(map.Accuracy.Zip(map.Accuracy.Skip(1)).All(k => k.First <= k.Second), "the map must not fall");
        var tempered = Calibration.Apply(fresh, t);
        var mapped = Calibration.Apply(fresh, t, map);
        var (withT, withMap) = (Calibration.Score(tempered, freshLabels), Calibration.Score(mapped, freshLabels));
        Assert.True(withT.Ece > 0.02, $"the temperature alone should leave the bend: ECE {withT.Ece:P2}");
        Assert.True(withMap.Ece < withT.Ece / 2, $"ECE {withT.Ece:P2} with T, {withMap.Ece:P2} with the map");
        Assert.True(withMap.Nll < withT.Nll);
        Assert.Equal(Evaluation.Evaluator.ArgMax(fresh), Evaluation.Evaluator.ArgMax(mapped));
        for (int row = 0; row < mapped.Length; row += ClassNames.Count)
            Assert.Equal(1, mapped.AsSpan(row, ClassNames.Count).ToArray().Sum(), 4);
    }

    [Fact]
    public void TopMap_IsSavedInTrustJson_AndOlderFilesLoadWithout()
    {
        var dir = TestData.TempDir();
        var rule = OodRule.PhotoChecksOnly;
        var info = new TrustInfo(1.5, "test", 10, null, null, rule, new ReferenceSplit(0.2, 1, null), new TopMap([0.2, 0.9], [0.3, 0.95]));
        info.Write(dir);
        var read = TrustInfo.Read(dir)!;
        Assert.Equal([0.2, 0.9], read.TopMap!.Confidence);
        Assert.Equal(0.625, read.TopMap.Map(0.55), 9);
        File.WriteAllText(Path.Combine(dir, TrustInfo.FileName), File.ReadAllText(Path.Combine(dir, TrustInfo.FileName)).Replace("\"top_map\"", "\"unused\""));
        Assert.Null(TrustInfo.Read(dir)!.TopMap);
    }

    [Fact]
    public void Temperature_IsTheSameOnEveryRun_AndOneChangesNothing()
    {
        var (probs, labels) = Overconfident(2_000, 2, seed: 3);
        Assert.Equal(Calibration.FitTemperature(probs, labels), Calibration.FitTemperature(probs, labels));
        Assert.Same(probs, Calibration.Apply(probs, 1));
    }

    [Fact]
    public void Ece_OfKnownBins()
    {
        // Two images at confidence 0.9 (one right), two at 0.6 (both right): |0.5-0.9|*2/4 + |1-0.6|*2/4 = 0.4.
        float[] row(int top, float p) => [.. Enumerable.Range(0, 10).Select(c => c == top ? p : (1 - p) / 9)];
        float[] probs = [.. row(1, 0.9f), .. row(2, 0.9f), .. row(3, 0.6f), .. row(4, 0.6f)];
        byte[] labels = [1, 0, 3, 4];
        Assert.Equal(0.4, Calibration.Ece(probs, labels), 5);
        var bins = Calibration.Reliability(probs, labels);
        Assert.Equal(Calibration.Bins, bins.Count);
        Assert.Equal(2, bins[13].Count); // 0.9 falls in [13/15, 14/15)
        Assert.Equal(0.5, bins[13].Accuracy, 6);
    }

    [Fact]
    public void Auroc_MatchesTheMannWhitneyCount()
    {
        Assert.Equal(1.0, OodBenchmark.Auroc([0, 1, 2], [3, 4]));
        Assert.Equal(0.0, OodBenchmark.Auroc([3, 4], [0, 1, 2]));
        Assert.Equal(0.5, OodBenchmark.Auroc([1, 1], [1, 1]));
        // pairs (garment, ood): (0,1) (0,3) (2,1) (2,3): ood higher in 3 of 4
        Assert.Equal(0.75, OodBenchmark.Auroc([0, 2], [1, 3]));
        Assert.Equal(0.5, OodBenchmark.FprAt95([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19], [5, 25]));
    }
}

/// <summary>The neighbour and confidence checks of `recognized`, on images whose answer is known.</summary>
public class RecognitionRuleTests
{
    private static readonly Lazy<TrainingNeighbours> Reference = new(() =>
        TrainingNeighbours.Of(TestData.Fashion.Train.Take(6_000), new ReferenceSplit(0.2, 1, null)));

    [Fact]
    public void TrainingNeighbours_OneInstancePerSetAndLatestReference_PackedOnce_SharedWithExplainsIndex()
    {
        var train = TestData.Fashion.Train.Take(2_000);
        var split = new ReferenceSplit(0.2, 1, null);
        var first = TrainingNeighbours.Of(train, split);
        Assert.Same(first, TrainingNeighbours.Of(train, split with { }));
        Assert.Same(first.Bits(TrainingNeighbours.Threshold), first.Bits(TrainingNeighbours.Threshold));
        // Only the latest split is kept beside the whole set, so a process training run after run does not pile them up.
        var other = TrainingNeighbours.Of(train, split with { SplitSeed = 2 });
        Assert.NotSame(first, other);
        Assert.Same(other, TrainingNeighbours.Of(train, split with { SplitSeed = 2 }));
        Assert.NotSame(first, TrainingNeighbours.Of(train, split));
        // Splits that select the same images: no validation (whatever the seed) and a limit at or above the set's size.
        var whole = TrainingNeighbours.Of(train, TrainingNeighbours.All);
        Assert.Same(whole, TrainingNeighbours.Of(train, new ReferenceSplit(0, 7, 2_000)));
        Assert.Same(train, whole.Images); // the whole set is searched where it lies, not copied
        // explain's index packs the whole set at its own threshold, once, in the same place.
        var index = new Fmnist.Explanations.NeighbourIndex(train);
        Assert.Same(whole.Bits(Fmnist.Explanations.NeighbourIndex.DefaultThreshold), whole.Bits(Fmnist.Explanations.NeighbourIndex.DefaultThreshold));
        Assert.Equal(Fmnist.Features.BitImages.Pack(train.Images, 127).Bits, whole.Bits(127).Bits);
        Assert.Equal(5, index.Nearest(train.Image(5).ToArray(), 1)[0][0].Index);
    }

    [Fact]
    public void NeighbourDice_IsZeroForATrainingImage_AndHighForAThinStroke()
    {
        var own = Reference.Value.Images.Image(5).ToArray();
        var stroke = new byte[ImageShape.Pixels];
        for (int y = 4; y < 24; y++) stroke[y * 28 + 14] = 255; // one vertical line: a glyph, not a garment
        var dice = Reference.Value.NearestDice([.. own, .. stroke]);
        Assert.Equal(0, dice[0]);
        Assert.True(dice[1] > 0.5, $"a thin stroke: {dice[1]}");
        // Garments the reference never saw sit close to some training garment.
        var unseen = TestData.Fashion.Test.Take(200).Images;
        var typical = Reference.Value.NearestDice(unseen).Order().ElementAt(100);
        Assert.True(typical < dice[1], $"median test garment {typical} against the stroke {dice[1]}");
    }

    [Fact]
    public void NeighbourCosine_IsZeroForATrainingImage_SeesBrightness_AndIsHighForAGlyph()
    {
        var own = Reference.Value.Images.Image(5).ToArray();
        var dimmer = own.Select(v => (byte)(v / 2)).ToArray(); // the same garment, half as dark: cosine ignores scale
        var stroke = new byte[ImageShape.Pixels];
        for (int y = 4; y < 24; y++) stroke[y * 28 + 14] = 255;
        var blank = new byte[ImageShape.Pixels];
        var cosine = Reference.Value.NearestCosine([.. own, .. dimmer, .. stroke, .. blank]);
        Assert.Equal(0, cosine[0], 9);
        Assert.True(cosine[1] < 0.001, $"the dimmer copy: {cosine[1]}");
        Assert.Equal(1, cosine[3]); // nothing to compare
        var unseen = TestData.Fashion.Test.Take(200).Images;
        var distances = Reference.Value.NearestCosine(unseen);
        Assert.True(distances.Order().ElementAt(100) < cosine[2], $"median test garment {distances.Order().ElementAt(100)} against the stroke {cosine[2]}");
        Assert.Equal(distances, Reference.Value.NearestCosine(unseen)); // integer dot products: the same every run
        Assert.Equal(distances, Reference.Value.Nearest(unseen, OodRule.Metrics.Cosine));
    }

    [Fact]
    public void A_trust_file_from_before_the_cosine_metric_keeps_its_dice_rule()
    {
        var dir = TestData.TempDir();
        File.WriteAllText(Path.Combine(dir, TrustInfo.FileName), """
            {"temperature": 1.5, "calibrated_on": "x", "calibration_images": 10, "before": null, "after": null,
             "ood": {"min_contrast": 24, "max_border_clutter": 0.25, "min_shape_share": 0.35, "max_neighbour_dice": 0.27,
                     "min_confidence": 0.5, "validation_kept": 0.95, "validation_images": 4000},
             "reference": {"validation_fraction": 0.2, "split_seed": 1, "train_limit": null}}
            """);
        var rule = TrustInfo.Read(dir)!.Ood;
        Assert.Equal((OodRule.Metrics.Dice, 0.27), (rule.NeighbourMetric, rule.MaxNeighbourDistance));
        Assert.Null(rule.LegacyMaxNeighbourDice);
        var fresh = OodRule.PhotoChecksOnly with { MaxNeighbourDistance = 0.1 };
        new TrustInfo(1, "x", 1, null, null, fresh, new ReferenceSplit(0.2, 1, null)).Write(dir);
        Assert.DoesNotContain("max_neighbour_dice", File.ReadAllText(Path.Combine(dir, TrustInfo.FileName)));
        Assert.Equal(fresh, TrustInfo.Read(dir)!.Ood);
    }

    [Fact]
    public void Judge_TriesTheChecksInOrder_AndEachGivesItsReason()
    {
        var rule = OodRule.PhotoChecksOnly with { MaxNeighbourDistance = 0.3, MinConfidence = 0.5 };
        var plain = new Imaging.PhotoSignals(Contrast: 200, BorderClutter: 0, LargestShapeShare: 1);
        Assert.Equal(Verdict.Yes, Recognition.Judge(plain, 0.1, 0.9, rule));
        Assert.Equal(Recognition.Reasons.Unsure, Recognition.Judge(plain, 0.1, 0.4, rule).Reason);
        Assert.Equal(Recognition.Reasons.Unfamiliar, Recognition.Judge(plain, 0.5, 0.4, rule).Reason);
        Assert.Equal(Recognition.Reasons.Fragmented, Recognition.Judge(plain with { LargestShapeShare = 0.2 }, 0.5, 0.4, rule).Reason);
        Assert.Equal(Recognition.Reasons.Cluttered, Recognition.Judge(plain with { BorderClutter = 0.6, LargestShapeShare = 0.2 }, 0.5, 0.4, rule).Reason);
        Assert.Equal(Recognition.Reasons.Blank, Recognition.Judge(plain with { Contrast = 3, BorderClutter = 0.6 }, 0.5, 0.4, rule).Reason);
    }

    /// <summary>2,000 renders that pass the photo checks, with random neighbour distances in [0, 0.5) and
    /// confidences in [0.5, 1) drawn from <paramref name="rng"/>.</summary>
    private static (List<Imaging.PhotoSignals> Signals, double[] Distance, double[] Confidence) RuleInputs(Random rng, int n = 2_000) =>
        (Enumerable.Range(0, n).Select(_ => new Imaging.PhotoSignals(200, 0, 1)).ToList(),
         Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 0.5).ToArray(),
         Enumerable.Range(0, n).Select(_ => 0.5 + rng.NextDouble() / 2).ToArray());

    [Fact]
    public void FitRule_KeepsTheAskedShareOfValidation_WithOneCommonQuantile()
    {
        var rng = new Random(3);
        int n = 2_000;
        var (signals, dice, confidence) = RuleInputs(rng, n);
        var rule = TrustFit.FitRule(signals, dice, confidence);
        int kept = Enumerable.Range(0, n).Count(i => Recognition.Judge(signals[i], dice[i], confidence[i], rule).Recognized);
        Assert.InRange(kept / (double)n, TrustFit.KeepRate, TrustFit.KeepRate + 0.005);
        Assert.Equal(rule.ValidationKept, kept / (double)n, 6);
        Assert.True(rule.MinConfidence > 0.5 && rule.MaxNeighbourDistance < 0.5);
        Assert.Equal(0, TrustFit.FitRule(signals, dice, null).MinConfidence); // without confidence only the distance is fitted
    }

    [Fact]
    public void FitRule_WithAFeatureDistance_SharesTheRefusalsAmongThreeScores_AndSkipsTheCheckWhenItCannotBeMeasured()
    {
        var rng = new Random(4);
        int n = 2_000;
        var (signals, cosine, confidence) = RuleInputs(rng, n);
        var feature = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 300).ToArray();
        var rule = TrustFit.FitRule(signals, cosine, confidence, feature, TrustFit.KeepRateWithFeatures);
        int kept = Enumerable.Range(0, n).Count(i => Recognition.Judge(signals[i], cosine[i], confidence[i], rule, feature[i]).Recognized);
        Assert.InRange(kept / (double)n, TrustFit.KeepRateWithFeatures, TrustFit.KeepRateWithFeatures + 0.005);
        Assert.Equal(rule.ValidationKept, kept / (double)n, 6);
        // One quantile for all three: the feature threshold sits as high in its own scores as the cosine one in theirs.
        double Share(double[] v, double limit) => v.Count(x => x <= limit) / (double)n;
        Assert.Equal(Share(cosine, rule.MaxNeighbourDistance), Share(feature, rule.MaxFeatureDistance!.Value), 2);
        // With a third score sharing fewer refusals each threshold is looser; without feature distances none is fitted.
        Assert.True(rule.MaxNeighbourDistance > TrustFit.FitRule(signals, cosine, confidence).MaxNeighbourDistance);
        Assert.Null(TrustFit.FitRule(signals, cosine, confidence).MaxFeatureDistance);
        var far = Recognition.Judge(signals[0], 0, 1, rule, rule.MaxFeatureDistance + 1);
        Assert.Equal((false, Recognition.Reasons.Unfamiliar), (far.Recognized, far.Reason));
        Assert.True(Recognition.Judge(signals[0], 0, 1, rule, null).Recognized);
    }
}
