using Fmnist.Features;
using Fmnist.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fmnist.Training;

/// <summary>What one optimisation step measured.</summary>
/// <param name="SampleLosses">Each image's loss, when the step was given loss weights (loss-based pruning).</param>
internal readonly record struct StepResult(double Loss, long Correct, double LearningRate, float[]? SampleLosses = null);

/// <summary>
/// The network, its optimizer, the optional weight average, and one training step: the same code for `train`
/// and `bench train`, so the benchmark times exactly what training runs (augmentation, standardization,
/// label smoothing, schedule, EMA update).
/// </summary>
internal sealed class TrainingStep : IDisposable
{
    private readonly TrainConfig _config;
    private readonly Normalization _norm;

    public nn.Module<Tensor, Tensor> Net { get; }
    public OptimizerHelper Optimizer { get; }
    public WeightAverage? Ema { get; }
    /// <summary>Muon for the convolution filters (--muon-lr), beside the SGD of the other parameters.</summary>
    public Levers.Muon? Muon { get; }
    public Levers.Lookahead? Lookahead { get; }
    /// <summary>The per-image losses of loss-based pruning (--prune); the trainer selects each epoch's images with it.</summary>
    public Levers.LossPruning? Pruning { get; private set; }

    // Per SGD parameter group: its learning-rate multiplier, and whether it is the whitening bias (rate 0 once
    // --whiten-bias-epochs have passed). Null when the optimizer has one group, as before the levers.
    private readonly double[]? _groupMults;
    private readonly int _whitenGroup = -1;
    public Bf16Compute? Bf16 { get; }

    /// <summary>The precision this step runs in (the config's, with `auto` decided for this CPU).</summary>
    public ResolvedPrecision Compute { get; }

    /// <summary>The memory layout this step computes in (the config's, with `auto` decided for this CPU).</summary>
    public ResolvedLayout Layout { get; }

    /// <summary>The weights that are validated and saved as the run's model: the average when there is one.</summary>
    public nn.Module<Tensor, Tensor> EvalNet => Ema?.Net ?? Net;

    /// <param name="initImages">Standardized training images (B,1,28,28) for the network's data-dependent initialisation
    /// (<see cref="InitSample"/>: the speed network's whitening filters); unused by the networks without one.</param>
    /// <param name="precision">The precision to run in when already decided (a resumed run keeps the one it
    /// started with); resolved from the config otherwise.</param>
    public TrainingStep(TrainConfig config, Normalization norm, Tensor? initImages = null, ResolvedPrecision? precision = null)
    {
        _config = config;
        _norm = norm;
        // The CLI refuses these earlier; a library caller's config reaches here unchecked, and the groups cannot be built without their network.
        if (UsesGroups(config) && Settings.IgnoredChanges(new TrainConfig { Model = config.Model }, config, GroupSettings) is { } ignored)
            throw new FmnistException(ignored);
        manual_seed(config.Seed);
        Layout = LayoutChoice.Resolve(config.Layout);
        Net = ModelFactory.Create(config.Model, Layout.ChannelsLast);
        var network = Models.Networks.Of(config.Model);
        if (network.InitImages > 0)
            network.Initialise(Net, initImages ?? throw new ArgumentException($"the {network.Name} network needs training images for its initialisation", nameof(initImages)));
        if (UsesGroups(config)) (Optimizer, Muon, _groupMults, _whitenGroup) = CreateGrouped(Net, config);
        else Optimizer = CreateOptimizer(Net, config);
        if (config.Lookahead > 0) Lookahead = new Levers.Lookahead(Trainable(Net), config.Lookahead, config.LookaheadAlpha ?? TrainConfig.DefaultLookaheadAlpha);
        if (config.Ema > 0) Ema = new WeightAverage(Net, config.Model, config.Ema);
        Compute = precision ?? PrecisionChoice.Resolve(config.Precision);
        if (Compute.Used == Precision.Bf16) Bf16 = new Bf16Compute(Net, config.Model);
    }

    public static OptimizerHelper CreateOptimizer(nn.Module<Tensor, Tensor> net, TrainConfig c) => c.Optimizer switch
    {
        OptimizerKind.Sgd => optim.SGD(Trainable(net), c.LearningRate, momentum: c.Momentum, weight_decay: c.WeightDecay, nesterov: true),
        OptimizerKind.AdamW => optim.AdamW(Trainable(net), c.LearningRate, weight_decay: c.WeightDecay),
        _ => optim.Adam(Trainable(net), c.LearningRate, weight_decay: c.WeightDecay),
    };

    /// <summary>Starts per-image loss records for loss-based pruning of <paramref name="count"/> training images.</summary>
    public void StartPruning(long count)
    {
        if (_config.Prune > 0) Pruning = new Levers.LossPruning(count, _config.Prune);
    }

    private static readonly Setting[] GroupSettings = [.. new[] { "muon_lr", "bn_bias_lr_mult", "whiten_bias_epochs" }.Select(Settings.Find)];

    private static bool UsesGroups(TrainConfig c) => c.MuonLr > 0 || c.BnBiasLrMult is not null || c.WhitenBiasEpochs is not null;

    /// <summary>
    /// The airbench-style parameter groups of the speed network: Muon for the group convolutions' filters
    /// (when on), and SGD groups for the whitening bias, the BatchNorm biases (at a multiple of the rate) and
    /// the rest. Weight decay of a group is divided by its multiplier, as airbench does, so that the decay per
    /// step (rate × decay) stays what the base rate gives.
    /// </summary>
    private static (OptimizerHelper, Levers.Muon?, double[], int) CreateGrouped(nn.Module<Tensor, Tensor> net, TrainConfig c)
    {
        var named = net.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        static bool IsConv(string name) => name.Contains(".convs.") && name.EndsWith(".weight");
        var muon = c.MuonLr > 0 ? new Levers.Muon(named.Where(p => IsConv(p.name)).Select(p => p.parameter), c.MuonMomentum ?? TrainConfig.DefaultMuonMomentum) : null;
        var rest = named.Where(p => muon is null || !IsConv(p.name)).ToList();
        var whiten = c.WhitenBiasEpochs is not null ? rest.Where(p => p.name == "whiten.bias").Select(p => p.parameter).ToList() : [];
        double mult = c.BnBiasLrMult ?? 1;
        var bn = c.BnBiasLrMult is not null ? rest.Where(p => p.name.Contains(".norms.") && p.name.EndsWith(".bias")).Select(p => p.parameter).ToList() : [];
        var others = rest.Select(p => p.parameter).Where(p => !whiten.Contains(p) && !bn.Contains(p)).ToList();
        var groups = new List<SGD.ParamGroup>();
        var mults = new List<double>();
        int whitenGroup = -1;
        void Add(List<Parameter> ps, double m, bool isWhiten = false)
        {
            if (ps.Count == 0) return;
            if (isWhiten) whitenGroup = groups.Count;
            groups.Add(new SGD.ParamGroup(ps, lr: c.LearningRate * m, momentum: c.Momentum, weight_decay: c.WeightDecay / m, nesterov: true));
            mults.Add(m);
        }
        Add(others, 1);
        Add(bn, mult);
        Add(whiten, 1, isWhiten: true);
        return (optim.SGD(groups, c.LearningRate, momentum: c.Momentum, weight_decay: c.WeightDecay, nesterov: true), muon, mults.ToArray(), whitenGroup);
    }

    /// <summary>The parameters the optimizer updates: all but the frozen ones (the speed network's whitening
    /// filters and BatchNorm scales), which weight decay would otherwise shrink.</summary>
    private static IEnumerable<Parameter> Trainable(nn.Module net) => net.parameters().Where(p => p.requires_grad);

    /// <summary>One step on the images at <paramref name="indices"/> of <paramref name="images"/> (uint8) with their labels.</summary>
    /// <param name="step">Global step number (0-based), for the learning-rate schedule and the EMA warm-up.</param>
    /// <param name="epoch">1-based, for the alternating flip.</param>
    /// <param name="weights">Each image's weight in the loss (loss-based pruning); null = the plain mean.</param>
    public StepResult Run(Tensor images, Tensor labels, long[] indices, Random augmentRng, long step, long totalSteps, int epoch = 1,
        float[]? weights = null)
    {
        using var scope = NewDisposeScope();
        Net.train();
        var idx = tensor(indices);
        var x = images.index_select(0, idx).to_type(ScalarType.Float32).div_(255.0);
        x = Augment(x, _config, augmentRng, indices, epoch);
        x = x.sub_(_norm.Mean).div_(_norm.Std);
        var y = labels.index_select(0, idx);

        double lr = LearningRate(_config, step, totalSteps);
        if (_groupMults is null)
            foreach (var group in Optimizer.ParamGroups) group.LearningRate = lr;
        else
        {
            int g = 0;
            foreach (var group in Optimizer.ParamGroups)
            {
                bool frozen = g == _whitenGroup && epoch > _config.WhitenBiasEpochs;
                group.LearningRate = frozen ? 0 : lr * _groupMults[g];
                g++;
            }
        }
        Optimizer.zero_grad();
        Muon?.ZeroGrad();
        Tensor logits;
        if (Bf16 is null) logits = Net.call(x);
        else
        {
            Bf16.PullWeights();
            Bf16.Net.train();
            Bf16.Net.zero_grad();
            // The loss in fp32: a softmax over 10 logits is cheap, and bf16's 8-bit mantissa would blur it.
            logits = Bf16.Net.call(x.to_type(ScalarType.BFloat16)).to_type(ScalarType.Float32);
        }
        Tensor loss;
        float[]? sampleLosses = null;
        if (weights is null) loss = nn.functional.cross_entropy(logits, y, label_smoothing: _config.LabelSmoothing);
        else
        {
            var each = nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.None, label_smoothing: _config.LabelSmoothing);
            sampleLosses = each.detach().data<float>().ToArray();
            loss = each.mul(tensor(weights)).mean();
        }
        loss.backward();
        Bf16?.PushGradients();
        if (_config.GradClip > 0) nn.utils.clip_grad_norm_(Trainable(Net), _config.GradClip);
        Optimizer.step();
        // Muon follows the same schedule as SGD, scaled to its own peak rate.
        Muon?.Step(lr / _config.LearningRate * _config.MuonLr);
        Lookahead?.Step();
        Ema?.Update(step);
        return new StepResult(loss.item<float>(), logits.argmax(1).eq(y).sum().item<long>(), lr, sampleLosses);
    }

    /// <summary>The batch's online augmentation, on pixel values in [0,1]; offline copies were made before training.</summary>
    /// <param name="indices">The batch's image numbers in the training tensor and <paramref name="epoch"/>: for the alternating flip.</param>
    public static Tensor Augment(Tensor x, TrainConfig c, Random rng, long[]? indices = null, int epoch = 1)
    {
        var a = c.Augmentation;
        if (c.Augment == AugmentMode.Online) x = Augmenter.Apply(x, a, rng);
        else if (c.Augment == AugmentMode.Crop && a.AlternateFlip && indices is not null)
            x = CropErase.CropFlip(x, a.CropPadding, i => CropErase.AlternateFlip(c.Seed, indices[i], epoch), rng);
        else if (c.Augment == AugmentMode.Crop) x = CropErase.CropFlip(x, a.CropPadding, a.FlipProbability, rng);
        if (c.Augment is AugmentMode.Online or AugmentMode.Crop && a.EraseProbability > 0)
            x = CropErase.Erase(x, a.EraseProbability, a.EraseMinArea, a.EraseMaxArea, rng);
        return x;
    }

    /// <summary>For a network with a data-dependent initialisation (<see cref="Models.INetwork.InitImages"/>: the speed
    /// network's whitening filters), the first of the uint8 images (B,1,28,28) it needs, at most <paramref name="available"/>,
    /// scaled and standardized as training sees them. Null for the networks that need none.</summary>
    public static Tensor? InitSample(TrainConfig config, Tensor images, Normalization norm, int available = int.MaxValue)
    {
        int wanted = Models.Networks.Of(config.Model).InitImages;
        return wanted == 0 ? null : WhiteningSample(images, Math.Min(wanted, available), norm);
    }

    /// <summary>The first <paramref name="count"/> of the uint8 images (B,1,28,28), scaled and standardized.</summary>
    public static Tensor WhiteningSample(Tensor images, int count, Normalization norm)
    {
        using var scope = NewDisposeScope();
        var x = images.narrow(0, 0, Math.Min(count, images.shape[0])).to_type(ScalarType.Float32).div_(255.0);
        return x.sub_(norm.Mean).div_(norm.Std).MoveToOuterDisposeScope();
    }

    public static double LearningRate(TrainConfig c, long step, long totalSteps)
    {
        double t = Math.Max(1, totalSteps);
        switch (c.Schedule)
        {
            case LrSchedule.Cosine:
                double warm = c.Warmup * t;
                if (step < warm) return c.LearningRate * (step + 1) / warm;
                return c.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * (step - warm) / Math.Max(1, t - warm)));
            case LrSchedule.OneCycle:
                double up = 0.3 * t, start = c.LearningRate / 25, end = start / 1e4;
                return step <= up
                    ? Anneal(start, c.LearningRate, step / up)
                    : Anneal(c.LearningRate, end, (step - up) / Math.Max(1, t - up));
            default:
                return c.LearningRate;
        }
    }

    /// <summary>Cosine interpolation from <paramref name="from"/> (fraction 0) to <paramref name="to"/> (fraction 1).</summary>
    private static double Anneal(double from, double to, double fraction) =>
        to + (from - to) / 2 * (1 + Math.Cos(Math.PI * Math.Min(1, fraction)));

    public void Dispose()
    {
        Ema?.Dispose();
        Muon?.Dispose();
        Lookahead?.Dispose();
        Bf16?.Dispose();
        Optimizer.Dispose();
        Net.Dispose();
    }
}
