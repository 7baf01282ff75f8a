using Fmnist.Data;
using Fmnist.Experiments;
using Fmnist.Imaging;
using Fmnist.Inference;
using Fmnist.Trust;
using SkiaSharp;

namespace Fmnist.Tests;

/// <summary>Photos drawn here (garments from the test split, blanks, noise, scenes) against a real trained model's trust.json.</summary>
[Collection("trained model")]
public class RecognitionTests(TrainedModelFixture model)
{
    private static string Png(string dir, string name, Action<SKCanvas, int> draw, int side = 280)
    {
        using var bitmap = new SKBitmap(side, side);
        using (var canvas = new SKCanvas(bitmap)) draw(canvas, side);
        var path = Path.Combine(dir, name);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    /// <summary>Test image <paramref name="index"/> as a photo: dark on white, 10x, with a margin.</summary>
    public static string GarmentPhoto(string dir, int index)
    {
        var image = TestData.Fashion.Test.Image(index).ToArray();
        return Png(dir, $"garment-{index}.png", (canvas, side) =>
        {
            canvas.Clear(SKColors.White);
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                {
                    byte v = (byte)(255 - image[y * 28 + x]);
                    using var paint = new SKPaint { Color = new SKColor(v, v, v) };
                    canvas.DrawRect(20 + x * 8, 20 + y * 8, 8, 8, paint);
                }
        });
    }

    private static string Noise(string dir) => Png(dir, "noise.png", (canvas, side) =>
    {
        var rng = new Random(5);
        for (int y = 0; y < side; y += 4)
            for (int x = 0; x < side; x += 4)
            {
                byte v = (byte)rng.Next(256);
                using var paint = new SKPaint { Color = new SKColor(v, v, v) };
                canvas.DrawRect(x, y, 4, 4, paint);
            }
    });

    private static string Scene(string dir) => Png(dir, "scene.png", (canvas, side) =>
    {
        // A room, roughly: dark floor, mid-grey wall and a bright window reaching the edges.
        canvas.Clear(new SKColor(120, 120, 120));
        using var floor = new SKPaint { Color = new SKColor(30, 30, 30) };
        canvas.DrawRect(0, side * 0.6f, side, side, floor);
        using var window = new SKPaint { Color = SKColors.White };
        canvas.DrawRect(side * 0.55f, 0, side, side * 0.4f, window);
    });

    [Fact]
    public void Training_WroteTrustJson_FittedOnValidation()
    {
        var info = TrustInfo.Read(model.Directory);
        Assert.NotNull(info);
        Assert.InRange(info.Temperature, 0.05, 20);
        Assert.Contains("validation split", info.CalibratedOn);
        Assert.InRange(info.CalibrationImages, 1_490, 1_510); // 20% of 7,500, rounded per class
        Assert.True(info.After!.Nll <= info.Before!.Nll + 1e-9);
        Assert.InRange(info.Ood.ValidationKept, TrustFit.KeepRate, 1);
        Assert.InRange(info.Ood.MaxNeighbourDistance, 0.01, 0.99);
    }

    [Fact]
    public void Predict_RecognizesGarments_AndRefusesBlanksNoiseAndScenes_KeepingTheTop3()
    {
        var dir = TestData.TempDir();
        var garments = new[] { 0, 1, 2, 3, 5 }.Select(i => GarmentPhoto(dir, i)).ToList();
        var white = Png(dir, "white.png", (c, _) => c.Clear(SKColors.White));
        var black = Png(dir, "black.png", (c, _) => c.Clear(SKColors.Black));
        var others = new[] { white, black, Noise(dir), Scene(dir) };
        var run = EvaluationWorkflow.Predict([model.Directory], [.. garments, .. others], TestData.Fashion.Train);

        var byName = run.Predictions.ToDictionary(p => Path.GetFileName(p.Name));
        Assert.True(garments.Count(g => byName[Path.GetFileName(g)].Recognized) >= 4, string.Join("; ", run.Predictions.Select(p => $"{p.Name} {p.Reason}")));
        Assert.Equal(Recognition.Reasons.Blank, byName["white.png"].Reason);
        Assert.Equal(Recognition.Reasons.Blank, byName["black.png"].Reason);
        Assert.False(byName["noise.png"].Recognized);
        Assert.Equal(Recognition.Reasons.Cluttered, byName["scene.png"].Reason);
        Assert.All(run.Predictions, p => Assert.Equal(3, p.Top.Count));
        Assert.Contains("temperature", run.Calibration);
    }

    [Fact]
    public void Predict_TakesFolders_Recursively_InPathOrder()
    {
        var dir = TestData.TempDir();
        Directory.CreateDirectory(Path.Combine(dir, "b", "c"));
        GarmentPhoto(Path.Combine(dir, "b", "c"), 1);
        GarmentPhoto(dir, 0);
        File.WriteAllText(Path.Combine(dir, "readme.txt"), "not a photo");
        var run = EvaluationWorkflow.Predict([model.Directory], [dir], TestData.Fashion.Train);
        Assert.Equal(["b/c/garment-1.png", "garment-0.png"], run.Predictions.Select(p => Path.GetRelativePath(dir, p.Name)).ToList());
    }

    [Fact]
    public void EvaluatePhotos_ScoresClassFolders_AndReportsTheShareNotRecognized()
    {
        var root = TestData.TempDir();
        var test = TestData.Fashion.Test;
        var picked = Enumerable.Range(0, 200).Where(i => test.Labels[i] is 1 or 7).Take(12).ToList();
        foreach (var i in picked)
        {
            var dir = Path.Combine(root, test.Labels[i] == 1 ? "Trouser" : "7");
            Directory.CreateDirectory(dir);
            GarmentPhoto(dir, i);
        }
        var report = EvaluationWorkflow.EvaluatePhotos([model.Directory], root, TestData.Fashion.Train, Path.Combine(root, "report"));
        Assert.Equal(picked.Count, report.TestImages);
        Assert.True(report.Metrics.Accuracy >= 0.75, $"accuracy {report.Metrics.Accuracy}");
        Assert.NotNull(report.NotRecognized);
        Assert.InRange(report.NotRecognized!.Value, 0, 0.34);
        Assert.True(File.Exists(report.Calibration.ReliabilityPng));
    }

    [Fact]
    public void Evaluate_ReportsCalibrationBeforeAndAfter_OnTheModelsTemperature()
    {
        var dir = TestData.TempDir();
        var report = EvaluationWorkflow.Evaluate([model.Directory], TestData.Fashion.Test.Take(500), dir);
        var info = TrustInfo.Read(model.Directory)!;
        Assert.Equal(info.Temperature, report.Calibration.Temperature);
        Assert.True(new FileInfo(report.Calibration.ReliabilityPng).Length > 5_000);
        using var raw = Classifiers.OpenUncalibrated(model.Directory);
        var p = raw.Probabilities(TestData.Fashion.Test.Take(500).Images);
        Assert.Equal(Calibration.Score(p, TestData.Fashion.Test.Take(500).Labels).Nll, report.Calibration.Before.Nll, 5);
    }

    [Fact]
    public void ExportedOnnx_AppliesTheTemperatureInsideTheGraph_AndCarriesTheRule()
    {
        var file = Path.Combine(TestData.TempDir(), "m.onnx");
        Export.OnnxExporter.Export(model.Directory, file);
        var images = TestData.Fashion.Test.Take(64).Images;
        using var torch = Classifiers.Open(model.Directory);
        using var onnx = Classifiers.Open(file);
        var expected = torch.Probabilities(images);
        var actual = onnx.Probabilities(images);
        // A tolerance, not rounding: two floats 1e-7 apart can round to different 4th decimals.
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4, $"probability {i}: {expected[i]} (TorchSharp) against {actual[i]} (ONNX)");
        Assert.Equal(TrustInfo.Read(model.Directory), Classifiers.Trust(file));
    }

    [Fact]
    public void PhotoSignals_OfADiscOnPlainGround_PassThePhotoChecks()
    {
        var dir = TestData.TempDir();
        var disc = Png(dir, "disc.png", (c, side) =>
        {
            c.Clear(SKColors.White);
            using var paint = new SKPaint { Color = SKColors.DarkBlue, IsAntialias = true };
            c.DrawCircle(side / 2f, side / 2f, side / 4f, paint);
        });
        var s = PhotoPreprocessor.Open(disc).Signals;
        Assert.True(s.Contrast > 100, $"contrast {s.Contrast}");
        Assert.Equal(0, s.BorderClutter);
        Assert.True(s.LargestShapeShare > 0.99);
        Assert.True(Recognition.Judge(s, 0, 1, OodRule.PhotoChecksOnly).Recognized);

        var noise = PhotoPreprocessor.Open(Noise(dir)).Signals;
        Assert.True(noise.BorderClutter > 0.5, $"clutter {noise.BorderClutter}");
    }

    [Fact]
    public void FeatureScores_OfARunFolder_PlaceItsOwnImagesWithinTheirMeanDistance_AndNoiseFarOut()
    {
        using var torch = Classifiers.Open(model.Directory);
        var info = TrustInfo.Read(model.Directory)!;
        var fit = TrainingNeighbours.Of(TestData.Fashion.Train, info.Reference).Images;
        var scores = FeatureScores.Fit(torch, fit)!;

        // Averaged over the images the covariance was fitted on, the squared distance to one's own class mean is the
        // trace of Σ⁻¹Σ, the feature count (32 here); the nearest class mean can only be nearer.
        var (_, own) = scores.Score(fit.Images);
        Assert.InRange(own.Average(), 1, 32 * 1.001);

        var garments = TestData.Fashion.Test.Take(200).Images;
        var rng = new Random(3);
        var noise = new byte[100 * ImageShape.Pixels];
        rng.NextBytes(noise);
        var (garmentEnergy, garmentDistance) = scores.Score(garments);
        var (noiseEnergy, noiseDistance) = scores.Score(noise);
        Assert.True(OodBenchmark.Auroc(garmentDistance, noiseDistance) > 0.95, $"Mahalanobis AUROC {OodBenchmark.Auroc(garmentDistance, noiseDistance)}");
        Assert.All(garmentEnergy.Concat(noiseEnergy), e => Assert.True(double.IsFinite(e)));

        // Training saved the same statistics beside trust.json, and a second rule with a threshold for them, which the
        // judge of the run folder applies.
        Assert.Null(info.Ood.MaxFeatureDistance);
        Assert.NotNull(info.OodWithFeatures?.MaxFeatureDistance);
        var judge = new Judge(info, TestData.Fashion.Train, torch);
        Assert.Equal(info.OodWithFeatures, judge.Rule);
        Assert.Equal(garmentDistance, judge.Features!.Score(garments).Mahalanobis);
        // Serve's batch records the features of its own forward pass: the same probabilities, and the same distances
        // as a pass of their own up to rounding (both are batches of 200 here, so they agree closely).
        var (probabilities, recorded) = judge.Features.ProbabilitiesWithFeatures(torch, garments);
        Assert.Equal(torch.Probabilities(garments), probabilities);
        var fromBatch = judge.Features.Mahalanobis(recorded, 200);
        for (int i = 0; i < 200; i++) Assert.Equal(garmentDistance[i], fromBatch[i], garmentDistance[i] * 1e-4);
        // The features are of the image itself, so test-time views keep the check; their extra passes are not one row
        // per image, so nothing is recorded from them and the judge scores the images itself.
        Assert.NotNull(FeatureScores.Torch(TtaClassifier.Wrap(torch, Evaluation.TtaMode.Flip)));
        Assert.Null(judge.Features.ProbabilitiesWithFeatures(TtaClassifier.Wrap(torch, Evaluation.TtaMode.Flip), garments).Features);
        // Without the network (or for an ONNX file or ensemble) the rule every model can apply decides.
        var portable = new Judge(info, TestData.Fashion.Train);
        Assert.Equal((info.Ood, null), (portable.Rule, portable.Features));
    }
}
