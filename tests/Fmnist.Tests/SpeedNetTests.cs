using Fmnist.Models;
using Fmnist.Models.CnnLstm;
using Fmnist.Models.ResNet;
using Fmnist.Models.Speed;
using Fmnist.Evaluation;
using Fmnist.Export;
using Fmnist.Features;
using Fmnist.Inference;
using Fmnist.Training;
using static TorchSharp.torch;

namespace Fmnist.Tests;

/// <summary>The speed network: its whitening layer, its recipe's augmentations, training, and its exports.</summary>
public class SpeedNetTests(Xunit.Abstractions.ITestOutputHelper log)
{
    private static readonly SpeedConfig Small = new SpeedConfig { Widths = [8, 16, 12], Depth = 2, WhitenPatch = 3, LogitScale = 0.25 };

    /// <summary>A random speed network of non-default widths (the last narrower than the one before), whitened on real images.</summary>
    private static readonly Lazy<string> SmallRandom = new(() => ExportSupport.RandomRunFolder(Small, seed: 5, randomBatchNormAffine: true));

    [Fact]
    public void Whitening_filters_of_known_patches_are_the_scaled_eigenvectors_and_their_negatives()
    {
        TorchRuntime.Initialize();
        // four 2x2 images, one 2x2 patch each: +-3 on pixel 0, +-2 on pixel 3. Covariance diag(4.5, 0, 0, 2).
        float[] data = [3, 0, 0, 0, -3, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, -2];
        using var images = tensor(data, [4, 1, 2, 2]);
        using var w = Whitening.Filters(images, 2);
        Assert.Equal([8L, 1, 2, 2], w.shape);
        var f = w.reshape(8, 4).data<float>().ToArray();
        float[] Row(int i) => f[(i * 4)..(i * 4 + 4)];
        // largest eigenvalue first: e0 / sqrt(4.5 + eps), then e3 / sqrt(2 + eps), sign free
        Assert.Equal(1 / Math.Sqrt(4.5 + Whitening.Epsilon), Math.Abs(Row(0)[0]), 5);
        Assert.Equal([0f, 0f, 0f], Row(0)[1..]);
        Assert.Equal(1 / Math.Sqrt(2 + Whitening.Epsilon), Math.Abs(Row(1)[3]), 5);
        Assert.Equal([0f, 0f, 0f], Row(1)[..3]);
        // the second half is the first negated
        for (int i = 0; i < 4; i++) Assert.Equal(Row(i).Select(v => -v), Row(i + 4));
    }

    [Fact]
    public void Whitened_real_images_have_unit_variance_along_every_patch_direction()
    {
        TorchRuntime.Initialize();
        var slice = TestData.Fashion.Train.Take(500);
        var norm = Normalization.FromImages(slice);
        using var x = TrainingStep.WhiteningSample(Evaluator.ImageTensor(slice.Images), 500, norm);
        using var w = Whitening.Filters(x, 3);
        using var y = nn.functional.conv2d(x, w);
        // mean square of each filter's response over all patches: eigenvalue / (eigenvalue + eps), ~1 for the
        // directions the data varies in (every one, for natural images)
        var meanSquare = y.pow(2).mean([0, 2, 3]).data<float>().ToArray();
        log.WriteLine(string.Join(" ", meanSquare.Select(v => v.ToString("F4"))));
        Assert.All(meanSquare, v => Assert.InRange(v, 0.9, 1.0001));
        // and the responses of different filters are uncorrelated
        using var flat = y.narrow(1, 0, 9).permute(1, 0, 2, 3).reshape(9, -1);
        using var cov = flat.matmul(flat.t()).div(flat.shape[1]);
        using var offDiagonal = cov.sub(diag(diag(cov)));
        Assert.True(offDiagonal.abs().max().item<float>() < 1e-3, "whitened responses are correlated");
    }

    [Fact]
    public void Speed_network_freezes_whitening_and_batchnorm_scales_and_its_loss_falls()
    {
        TorchRuntime.Initialize();
        manual_seed(3);
        var slice = TestData.Fashion.Train.Take(256);
        var norm = Normalization.FromImages(slice);
        using var net = new SpeedNet(Small);
        using (var sample = TrainingStep.WhiteningSample(Evaluator.ImageTensor(slice.Images), 256, norm)) net.InitWhitening(sample);
        var frozen = net.named_parameters().Where(p => !p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.Contains("whiten.weight", frozen);
        Assert.Equal(1 + 3 * 2, frozen.Count); // the whitening filters and every BatchNorm scale
        using var before = net.WhiteningWeight.clone();
        var config = new TrainConfig { Model = Small, Optimizer = OptimizerKind.Sgd, LearningRate = 0.5, WeightDecay = 5e-4 };
        using var optimizer = TrainingStep.CreateOptimizer(net, config);
        var (first, last) = LossCheck.OnTinyBatch(net, optimizer, 30);
        Assert.True(last < first * 0.7, $"loss {first} -> {last}");
        Assert.True(before.eq(net.WhiteningWeight).all().item<bool>(), "the whitening filters changed in training (weight decay or gradient reached them)");
    }

    [Fact]
    public void Alternating_flip_mirrors_each_image_in_every_other_epoch()
    {
        for (long i = 0; i < 200; i++)
        {
            Assert.NotEqual(CropErase.AlternateFlip(7, i, 1), CropErase.AlternateFlip(7, i, 2));
            Assert.Equal(CropErase.AlternateFlip(7, i, 1), CropErase.AlternateFlip(7, i, 3));
        }
        int flipped = Enumerable.Range(0, 2000).Count(i => CropErase.AlternateFlip(7, i, 1));
        Assert.InRange(flipped, 900, 1100); // about half in any epoch
        Assert.NotEqual(Enumerable.Range(0, 64).Select(i => CropErase.AlternateFlip(7, i, 1)), Enumerable.Range(0, 64).Select(i => CropErase.AlternateFlip(8, i, 1)));

        // through the augmentation: no padding, so each image is itself or its mirror, as the rule says
        TorchRuntime.Initialize();
        var config = new TrainConfig { Augment = AugmentMode.Crop, Seed = 7, Augmentation = new AugmentConfig { CropPadding = 0, AlternateFlip = true } };
        using var x = rand(6, 1, 28, 28);
        long[] indices = [0, 5, 9, 11, 12, 40];
        using var y = TrainingStep.Augment(x.clone(), config, new Random(1), indices, epoch: 4);
        for (int i = 0; i < indices.Length; i++)
        {
            var expected = CropErase.AlternateFlip(7, indices[i], 4) ? x[i].flip(2) : x[i];
            Assert.True(expected.eq(y[i]).all().item<bool>(), $"image {indices[i]}");
        }
    }

    [Fact]
    public void Tta_views_move_and_mirror_pixels_the_same_way_in_torch_and_in_managed_memory()
    {
        TorchRuntime.Initialize();
        Assert.Equal([1, 2, 5, 10, 18, 18], Enum.GetValues<TtaMode>().Select(m => Tta.Views(m).Count));
        Assert.All(Enum.GetValues<TtaMode>(), m => Assert.Equal(m, Tta.Parse(Tta.Name(m))));
        Assert.All(Enum.GetValues<TtaMode>(), m => Assert.Equal(Tta.Views(m).Count, Tta.Views(m).Distinct().Count()));
        Assert.Throws<FmnistException>(() => Tta.Parse("flip-shift3"));
        var raw = TestData.Fashion.Test.Take(3).Images.Select(b => (float)b).ToArray();
        using var x = tensor(raw, [3, 1, 28, 28]);
        foreach (var v in Enum.GetValues<TtaMode>().SelectMany(Tta.Views).Distinct())
        {
            using var t = Tta.Apply(x, v).contiguous();
            var managed = new float[raw.Length];
            Tta.Apply(raw, managed, v);
            Assert.Equal(managed, t.data<float>().ToArray());
        }
        // one pixel right: column 0 is background, column c holds the original column c-1
        var right = new float[raw.Length];
        Tta.Apply(raw, right, new TtaView(false, 1, 0));
        for (int r = 0; r < 28; r++)
        {
            Assert.Equal(0, right[r * 28]);
            for (int c = 1; c < 28; c++) Assert.Equal(raw[r * 28 + c - 1], right[r * 28 + c]);
        }
        // one pixel left and one up (a diagonal view), then two pixels down: pixel (r, c) comes from (r+1, c+1), then (r-2, c)
        var upLeft = new float[raw.Length];
        Tta.Apply(raw, upLeft, new TtaView(false, -1, -1));
        var down2 = new float[raw.Length];
        Tta.Apply(raw, down2, new TtaView(false, 0, 2));
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++)
            {
                Assert.Equal(r < 27 && c < 27 ? raw[(r + 1) * 28 + c + 1] : 0, upLeft[r * 28 + c]);
                Assert.Equal(r >= 2 ? raw[(r - 2) * 28 + c] : 0, down2[r * 28 + c]);
            }
    }

    [Fact]
    public void Onnx_export_of_a_random_speed_network_matches_TorchSharp_with_and_without_views_in_the_graph()
    {
        var run = SmallRandom.Value;
        var images = ExportSupport.TestImages(100);
        using var torch = new TorchClassifier(run);
        var plain = OnnxExporter.Export(run, Path.Combine(TestData.TempDir(), "speed.onnx")).File;
        using (var onnx = new OnnxClassifier(plain))
        {
            log.WriteLine($"max |dp| {ExportSupport.AssertAgree(torch.Probabilities(images), onnx.Probabilities(images), 1e-4):E2}");
            Assert.Equal(torch.Description.Parameters, onnx.Description.Parameters);
        }
        // the ten flip-shift views inside the graph equal TorchSharp's test-time augmentation
        var withViews = OnnxExporter.Export(run, Path.Combine(TestData.TempDir(), "speed-tta.onnx"), TtaMode.FlipShift).File;
        using (var onnx = new OnnxClassifier(withViews))
            log.WriteLine($"TTA graph max |dp| {ExportSupport.AssertAgree(torch.Probabilities(images, TtaMode.FlipShift), onnx.Probabilities(images), 1e-4):E2}");
        var model = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(withViews));
        Assert.Contains(model.MetadataProps, p => p.Key == OnnxMetadata.Tta && p.Value == "flip-shift");
        Assert.Equal(["probabilities", "logits"], model.Graph.Output.Select(o => o.Name));
        // the 18 views with diagonal shifts too
        var diagonal = OnnxExporter.Export(run, Path.Combine(TestData.TempDir(), "speed-tta-diagonal.onnx"), TtaMode.FlipDiagonal).File;
        using (var onnx = new OnnxClassifier(diagonal))
            ExportSupport.AssertAgree(torch.Probabilities(images, TtaMode.FlipDiagonal), onnx.Probabilities(images), 1e-4);
    }

    [Fact]
    public void A_served_model_with_tta_answers_every_request_with_the_views_averaged()
    {
        var images = ExportSupport.TestImages(20);
        using var plain = new TorchClassifier(SmallRandom.Value);
        using var served = TtaClassifier.Wrap(new TorchClassifier(SmallRandom.Value), TtaMode.Shift);
        Assert.Equal(plain.Probabilities(images, TtaMode.Shift), served.Probabilities(images));
        Assert.NotEqual(plain.Probabilities(images), served.Probabilities(images));
        Assert.EndsWith("shift TTA (5 views)", served.Description.Runtime);
        using var untouched = new TorchClassifier(SmallRandom.Value);
        Assert.Same(untouched, TtaClassifier.Wrap(untouched, TtaMode.None));
    }

    [Fact]
    public void PyTorch_state_dict_of_a_speed_network_round_trips_into_TorchSharp_exactly()
    {
        ExportSupport.AssertPyTorchRoundTrip(SmallRandom.Value);
    }

    [PythonFact]
    public void Onnx_checker_accepts_the_speed_export()
    {
        ExportSupport.AssertOnnxCheckerAccepts(SmallRandom.Value);
    }

    [PythonFact]
    public void PyTorch_module_builds_the_speed_network_from_config_and_agrees_with_TorchSharp()
    {
        log.WriteLine($"max |dp| PyTorch vs TorchSharp {ExportSupport.AssertPythonAgrees(SmallRandom.Value):E2}");
    }

    [Fact]
    public void Summary_counts_the_speed_networks_flops_and_frozen_parameters()
    {
        TorchRuntime.Initialize();
        using var net = new SpeedNet(Small);
        var s = ModelSummary.Of(net, Small);
        // whitening 18 filters 3x3 on 26x26; g1: 18->8 at 26, 8->8 at 13; g2: 8->16 at 13, 16->16 at 6; g3: 16->12 at 6, 12->12 at 3; linear 12x10
        long macs = 26 * 26 * 18 * 9 + 26 * 26 * 8 * 18 * 9 + 13 * 13 * 8 * 8 * 9 + 13 * 13 * 16 * 8 * 9 + 6 * 6 * 16 * 16 * 9
                    + 6 * 6 * 12 * 16 * 9 + 3 * 3 * 12 * 12 * 9 + 12 * 10;
        Assert.Equal(2 * macs, s.ForwardFlops);
        Assert.Equal(s.TotalParameters - 18 * 9 - (8 + 8 + 16 + 16 + 12 + 12), s.TrainableParameters);
        Assert.Equal(["input", "whiten", "g1", "g2", "g3", "pool", "output"], s.Rows.Select(r => r.Layer));
        Assert.Equal("(B, 12, 3, 3)", s.Rows.Single(r => r.Layer == "g3").OutputShape);
    }
}
