using Fmnist.Models;
using Fmnist.Models.CnnLstm;
using Fmnist.Models.ResNet;
using Fmnist.Models.Speed;
using Fmnist.Evaluation;
using Fmnist.Features;
using Fmnist.Training;
using Fmnist.Training.Levers;
using TorchSharp;
using static TorchSharp.torch;

namespace Fmnist.Tests;

/// <summary>The speedrun levers (issue #34 part 2) on known inputs: Muon's Newton–Schulz and step, InfoBatch
/// pruning, Lookahead, the airbench parameter groups, their options and an exact resume with all of them on.
/// Alone: the resume comparison trains in this process, and inference from parallel test classes shares libtorch's
/// thread pool and changes how a training's reductions split (it failed so beside the serve and explain tests).</summary>
[Collection("libtorch alone")]
public class SpeedLeverTests
{
    private static readonly SpeedConfig Small = new SpeedConfig { Widths = [8, 16, 12], Depth = 2, WhitenPatch = 3, LogitScale = 0.25 };

    private static double[] SingularValues(Tensor m)
    {
        using var s = linalg.svdvals(m.to_type(ScalarType.Float64));
        return s.data<double>().ToArray();
    }

    /// <summary>U diag(s) Vᵀ with fixed orthogonal U (3x3 rotation) and V (rows of a 4x4 permutation-with-signs).</summary>
    private static (Tensor M, Tensor UVt) Known(double[] s)
    {
        double c = Math.Cos(0.7), n = Math.Sin(0.7);
        var u = tensor(new double[,] { { c, -n, 0 }, { n, c, 0 }, { 0, 0, 1 } });
        var vt = tensor(new double[,] { { 0, 1, 0, 0 }, { 0, 0, 0, -1 }, { 1, 0, 0, 0 } }); // 3 orthonormal rows in R^4
        return (u.matmul(diag(tensor(s))).matmul(vt).to_type(ScalarType.Float32), u.matmul(vt).to_type(ScalarType.Float32));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Newton_schulz_brings_singular_values_spread_tenfold_near_1_and_keeps_the_singular_vectors(bool tall)
    {
        var (m, uvt) = Known([3.0, 1.0, 0.3]);
        if (tall) (m, uvt) = (m.t(), uvt.t());
        Assert.Equal(10, SingularValues(m).Max() / SingularValues(m).Min(), 3);
        using var o = Muon.NewtonSchulz(m, 5);
        Assert.Equal(m.shape, o.shape);
        foreach (var v in SingularValues(o)) Assert.InRange(v, 0.65, 1.25); // the quintic's band around 1
        // The direction is U Vᵀ's: cosine similarity near 1.
        double cos = o.mul(uvt).sum().item<float>() / (o.norm().item<float>() * uvt.norm().item<float>());
        Assert.True(cos > 0.97, $"cosine {cos}");
    }

    [Fact]
    public void A_muon_step_moves_every_direction_alike_whatever_the_gradient_scale()
    {
        TorchRuntime.Initialize();
        // A 2-filter 1x1 conv bank at the identity (norm sqrt(2): unchanged by the normalization).
        var p = new TorchSharp.Modules.Parameter(eye(2).view(2, 2, 1, 1).clone());
        p.grad = tensor(new float[] { 2f, 0, 0, 0.5f }).view(2, 2, 1, 1);
        using var muon = new Muon([p], momentum: 0.6);
        muon.Step(0.1);
        var w = p.detach().view(2, 2).data<float>().ToArray();
        // SGD would move the diagonal by 0.2 and 0.05; Muon by ~0.1 each (its orthogonal update has singular values ~1).
        Assert.InRange(w[0], 0.87, 0.93);
        Assert.InRange(w[3], 0.87, 0.93);
        Assert.Equal(0, w[1], 4);
        Assert.Equal(0, w[2], 4);
        // The momentum buffer holds the first gradient (zeros times momentum, plus the gradient).
        Assert.Equal([2f, 0, 0, 0.5f], muon.Buffers[0].view(4).data<float>().ToArray());
    }

    [Fact]
    public void Pruning_drops_a_seeded_share_of_the_low_loss_images_and_upweights_the_rest_of_them()
    {
        var pruning = new LossPruning(6, 0.5);
        // Nothing scored yet: every image kept, weight 1.
        var (first, firstWeights) = pruning.Select([5, 4, 3, 2, 1, 0], 2, 12, new Random(1));
        Assert.Equal([5L, 4, 3, 2, 1, 0], first);
        Assert.All(firstWeights, w => Assert.Equal(1f, w));

        pruning.Record([0, 1, 2, 3, 4], [0.1f, 0.2f, 0.3f, 2.0f, 3.0f]); // image 5 never scored; mean 1.12
        long[] order = [3, 0, 5, 1, 4, 2];
        var (kept, weights) = pruning.Select(order, 2, 12, new Random(7));
        // Reference: one draw per low-loss image (0, 1, 2) in the order's sequence, dropped below 0.5.
        var rng = new Random(7);
        var dropped = new[] { 0L, 1, 2 }.Where(_ => rng.NextDouble() < 0.5).ToHashSet();
        Assert.Equal(order.Where(i => !dropped.Contains(i)).ToArray(), kept);
        for (int k = 0; k < kept.Length; k++) Assert.Equal(kept[k] is 0 or 1 or 2 ? 2f : 1f, weights[k]);
        Assert.Contains(3L, kept); Assert.Contains(4L, kept); Assert.Contains(5L, kept); // high or unscored: always kept
        var (again, againWeights) = pruning.Select(order, 2, 12, new Random(7)); // deterministic for a seed
        Assert.Equal(kept, again);
        Assert.Equal(weights, againWeights);

        // Annealing: epochs 11 and 12 of 12 use every image unweighted.
        var (all, allWeights) = pruning.Select(order, 11, 12, new Random(7));
        Assert.Equal(order, all);
        Assert.All(allWeights, w => Assert.Equal(1f, w));
        Assert.Equal(Enumerable.Range(1, 12).Select(e => e <= 10), Enumerable.Range(1, 12).Select(e => LossPruning.Prunes(e, 12)));
        Assert.False(LossPruning.Prunes(3, 3));
    }

    [Fact]
    public void Pruning_keeps_the_expected_weight_of_the_low_loss_images()
    {
        // 2,000 low-loss images and one high: the kept low ones' weights sum to about 2,000 (an unbiased gradient).
        var pruning = new LossPruning(2001, 0.3);
        pruning.Record(Enumerable.Range(0, 2001).Select(i => (long)i).ToArray(), [.. Enumerable.Repeat(0.1f, 2000), 100f]);
        var (kept, weights) = pruning.Select(Enumerable.Range(0, 2001).Select(i => (long)i).ToArray(), 1, 12, new Random(3));
        Assert.InRange(kept.Length, 1300, 1500); // ~70% of 2,000, plus the high one
        Assert.InRange(weights.Where((_, k) => kept[k] < 2000).Sum(), 1900, 2100);
    }

    [Fact]
    public void Lookahead_syncs_every_k_steps_alpha_of_the_way_and_resets_the_fast_weights()
    {
        TorchRuntime.Initialize();
        var p = new TorchSharp.Modules.Parameter(zeros(1));
        using var la = new Lookahead([p], k: 2, alpha: 0.5);
        using (no_grad()) p.fill_(1);
        la.Step(); // step 1: no sync
        Assert.Equal(1f, p.item<float>());
        using (no_grad()) p.fill_(3);
        la.Step(); // step 2: slow 0 -> 0 + 0.5 (3 - 0) = 1.5, fast reset to it
        Assert.Equal(1.5f, p.item<float>());
        Assert.Equal(1.5f, la.Slow[0].item<float>());
        Assert.Equal(2, la.Steps);
    }

    [Fact]
    public void Parameter_groups_speed_up_batchnorm_biases_freeze_the_whitening_bias_and_give_the_filters_to_muon()
    {
        TorchRuntime.Initialize();
        var set = TestData.Fashion.Train.Take(256);
        var norm = Normalization.FromImages(set);
        using var images = Evaluator.ImageTensor(set.Images);
        using var labels = Evaluator.LabelTensor(set.Labels);
        using var whitening = TrainingStep.WhiteningSample(images, 256, norm);
        var config = new TrainConfig
        {
            Model = Small, Optimizer = OptimizerKind.Sgd, LearningRate = 0.1, Momentum = 0.85, WeightDecay = 5e-4,
            Schedule = LrSchedule.Constant, Augment = AugmentMode.None, MuonLr = 0.05, BnBiasLrMult = 8, WhitenBiasEpochs = 1,
        };
        using var step = new TrainingStep(config, norm, whitening);
        Assert.Equal(3 * 2, step.Muon!.Parameters.Count); // every group convolution's filters
        var named = step.Net.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var whitenBias = named["whiten.bias"];
        long[] batch = [.. Enumerable.Range(0, 64).Select(i => (long)i)];

        step.Run(images, labels, batch, new Random(1), 0, 10, epoch: 1);
        var rates = step.Optimizer.ParamGroups.Select(g => g.LearningRate).ToArray();
        Assert.Equal([0.1, 0.8, 0.1], rates, new ToleranceComparer(1e-12)); // rest, BatchNorm biases, whitening bias
        using var afterEpoch1 = whitenBias.detach().clone();
        Assert.False(afterEpoch1.abs().sum().item<float>() == 0, "the whitening bias did not train in epoch 1");

        using var filter = named["groups.g1.convs.0.weight"].detach().clone();
        step.Run(images, labels, batch, new Random(2), 1, 10, epoch: 2);
        Assert.True(whitenBias.eq(afterEpoch1).all().item<bool>(), "the whitening bias moved after its epochs");
        Assert.Equal(0, step.Optimizer.ParamGroups.Last().LearningRate);
        Assert.False(named["groups.g1.convs.0.weight"].eq(filter).all().item<bool>(), "Muon did not move the filters");
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(double v) => 0;
    }

    [Theory]
    [InlineData("--muon-lr does not apply", "--muon-lr", "0.2")]
    [InlineData("--bn-bias-lr-mult does not apply", "--preset", "fast", "--optimizer", "adam", "--bn-bias-lr-mult", "4")]
    [InlineData("--whiten-bias-epochs does not apply", "--preset", "resnet", "--whiten-bias-epochs", "3")]
    [InlineData("--muon-momentum does not apply: Muon is off", "--preset", "fast", "--muon-momentum", "0.5")]
    [InlineData("--lookahead-alpha does not apply: lookahead is off", "--preset", "fast", "--lookahead-alpha", "0.3")]
    [InlineData("--prune must be in [0, 1), got 1", "--preset", "fast", "--prune", "1")]
    public void Lever_options_that_would_not_act_or_are_out_of_range_are_refused(string message, params string[] options) =>
        RefusalTests.AssertTrainRefused(message, options);

    [Fact]
    public void Levers_round_trip_through_the_settings_file_and_stay_out_of_it_while_off()
    {
        var on = ConfigOverrides.Of(("prune", 0.5), ("muon_lr", 0.24), ("muon_momentum", 0.7), ("bn_bias_lr_mult", 64), ("whiten_bias_epochs", 3), ("lookahead", 5), ("lookahead_alpha", 0.4))
            .Apply(Presets.Get("fast"));
        var path = Path.Combine(TestData.TempDir(), "levers.json");
        on.WriteFile(path);
        Assert.Equal(on, TrainConfig.FromFile(path) with { Model = on.Model, Augmentation = on.Augmentation });
        Assert.Equal((0.5, 0.24, 0.7, 64.0, 3, 5, 0.4), (on.Prune, on.MuonLr, on.MuonMomentum, on.BnBiasLrMult, on.WhitenBiasEpochs, on.Lookahead, on.LookaheadAlpha));
        var off = JsonFiles.Serialize(Presets.Get("fast"));
        foreach (var key in new[] { "prune", "muon", "bn_bias", "whiten_bias", "lookahead" }) Assert.DoesNotContain(key, off);
        Assert.Contains("bn_bias_lr_mult", ConfigOverrides.Names); // grid files may set them
        // A settings file that skips the option checks is still refused where the groups do not exist.
        TorchRuntime.Initialize();
        Assert.Throws<FmnistException>(() => new TrainingStep(Presets.Get("resnet") with { MuonLr = 0.2 }, new Normalization(0.3, 0.3)));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void A_run_with_every_lever_stopped_after_epoch_1_and_resumed_equals_the_uninterrupted_run()
    {
        var config = new TrainConfig
        {
            Model = Small, Optimizer = OptimizerKind.Sgd, LearningRate = 0.5, Momentum = 0.85, WeightDecay = 5e-4, Schedule = LrSchedule.OneCycle,
            Augment = AugmentMode.Crop, Augmentation = new AugmentConfig { Shear = 0, Zoom = 0, Shift = 0, AlternateFlip = true, CropPadding = 2 },
            BatchSize = 100, Epochs = 3, TrainLimit = 800, Seed = 5, Precision = Precision.Fp32,
            Prune = 0.5, MuonLr = 0.1, BnBiasLrMult = 8, WhitenBiasEpochs = 1, Lookahead = 3,
        };
        var whole = Path.Combine(TestData.TempDir(), "whole");
        var full = Trainer.Run(TestData.Fashion.Train, config, whole);
        var cut = Path.Combine(TestData.TempDir(), "cut");
        Assert.Throws<OperationCanceledException>(() => Trainer.Run(TestData.Fashion.Train, config, cut,
            afterEpoch: (_, history) => { if (history.Count == 1) throw new OperationCanceledException(); }));
        Assert.True(File.Exists(new RunFolder(cut).LeversPath));
        var resumed = Trainer.Run(TestData.Fashion.Train, config, cut, resume: true);
        Assert.True(resumed.Resumed);
        Assert.Equal(full.History.Select(h => (h.TrainLoss, h.ValAccuracy)), resumed.History.Select(h => (h.TrainLoss, h.ValAccuracy)));
        Assert.Equal(File.ReadAllBytes(new RunFolder(whole).CheckpointPath), File.ReadAllBytes(new RunFolder(cut).CheckpointPath));
        Assert.Equal(File.ReadAllBytes(new RunFolder(whole).LeversPath), File.ReadAllBytes(new RunFolder(cut).LeversPath));
    }
}
