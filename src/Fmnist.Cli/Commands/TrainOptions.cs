using System.CommandLine;
using Fmnist.Features;
using Fmnist.Models.CnnLstm;
using Fmnist.Training;

namespace Fmnist.Cli.Commands;

/// <summary>
/// The hyperparameter options of `train` (some shared by `summary`); unset ones keep the preset's value.
/// Every default shown in --help is read from the presets themselves.
/// </summary>
internal sealed class TrainOptions
{
    private static readonly TrainConfig Seed = Presets.Get("seed");

    /// <summary>"[default: X]", plus "; improved: Y", "; resnet: Z", "; fast: W" where those presets differ
    /// ("best" is "fast" trained as an ensemble, named only where it differs from "fast": its epochs).</summary>
    private static string Default<T>(Func<TrainConfig, T> get)
    {
        string Show(T v) => v switch
        {
            null => "none",
            ModelArch a => ModelArchNames.Name(a),
            IEnumerable<int> list => string.Join(",", list),
            Enum e => e.ToString().ToLowerInvariant(),
            IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
            _ => v.ToString()!,
        };
        var (s, fast) = (Show(get(Seed)), Show(get(Presets.Get("fast"))));
        var others = Presets.Names.Where(n => n is not "seed").Select(n => (n, v: Show(get(Presets.Get(n)))))
            .Where(x => x.v != s && !(x.n == "best" && x.v == fast));
        return $"[default: {s}{string.Concat(others.Select(x => $"; {x.n}: {x.v}"))}]";
    }

    public Option<string> Preset { get; } = new("--preset") { Description = $"Starting configuration: {string.Join(" or ", Presets.Names)} (seed = the seed's best row)", DefaultValueFactory = _ => "seed" };
    public Option<string?> ConfigFile { get; } = new("--config")
    {
        Description = "Start from the settings in this JSON file (a run's config.json, or training settings as that file's \"config\" holds them) instead of --preset; other options still override them",
    };
    public Option<int?> BatchSize { get; } = new("--batch-size") { Description = $"Mini-batch size {Default(c => c.BatchSize)}" };
    public Option<double?> Dropout1 { get; } = new("--dropout1") { Description = $"Dropout before the first dense layer {Default(c => c.Model.Dropout1)}" };
    public Option<double?> Dropout2 { get; } = new("--dropout2") { Description = $"Dropout before the output layer {Default(c => c.Model.Dropout2)}" };
    public Option<int?> Lstm { get; } = new("--lstm") { Description = $"LSTM hidden size {Default(c => c.Model.Lstm)}" };
    public Option<int?> Dense { get; } = new("--dense") { Description = $"First dense layer size {Default(c => c.Model.Dense)}" };
    public Option<int?> Epochs { get; } = new("--epochs") { Description = $"Epochs {Default(c => c.Epochs)}" };
    public Option<ModelArch?> Arch { get; } = new("--arch")
    {
        Description = $"Network: cnn-lstm (the seed's), resnet, or speed (frozen patch-whitening conv, conv groups, after the CIFAR-10 speedruns) {Default(c => c.Model.Arch)}",
        HelpName = "cnn-lstm|resnet|speed",
        CustomParser = r => Parsed(r, ModelArchNames.Parse),
    };
    public Option<int?> Width { get; } = new("--width") { Description = $"ResNet: channels of the first stage, doubled at each later stage {Default(c => c.Model.Width)}" };
    public Option<int[]?> Blocks { get; } = Common.List("--blocks",
        $"ResNet: residual blocks per stage ({Common.ListForm}; stages at 28, 14, 7, 4 pixels) {Default(c => c.Model.Blocks)}",
        v => ModelConfig.ParseBlocks(v).ToArray(), "N,N,...");
    public Option<int[]?> Widths { get; } = Common.List("--widths",
        $"Speed: channels of each conv group ({Common.ListForm}; each group halves the side: 26, 13, 6, 3) {Default(c => c.Model.Widths)}",
        v => ModelConfig.ParseWidths(v).ToArray(), "N,N,...");
    public Option<int?> Depth { get; } = new("--depth") { Description = $"Speed: convolutions per group {Default(c => c.Model.Depth)}" };
    public Option<int?> WhitenPatch { get; } = new("--whiten-patch") { Description = $"Speed: side of the whitening layer's patches (2 x side² frozen filters) {Default(c => c.Model.WhitenPatch)}" };
    public Option<double?> LogitScale { get; } = new("--logit-scale") { Description = $"Speed: factor on the logits {Default(c => Math.Round(c.Model.LogitScale, 4))}" };
    public Option<double?> Momentum { get; } = new("--momentum") { Description = $"SGD: Nesterov momentum {Default(c => c.Momentum)}" };
    // A switch is a flag pair, as every on/off option: --alternate-flip turns it on, --no-alternate-flip off, neither keeps the
    // preset's. The old `--alternate-flip true|false` still parses (a bool option takes an optional value) and means the same.
    public Option<bool> AlternateFlip { get; } = new("--alternate-flip") { Description = $"Crop augmentation: mirror each image in every other epoch instead of by a fresh coin (--no-alternate-flip: a fresh coin) {Default(c => c.Augmentation.AlternateFlip ? "on" : "off")}" };
    public Option<bool> NoAlternateFlip { get; } = new("--no-alternate-flip") { Description = "Crop augmentation: flip by a fresh coin, where the preset alternates" };
    public Option<double?> Lr { get; } = new("--lr") { Description = $"Learning rate (peak rate for onecycle) {Default(c => c.LearningRate)}" };
    public Option<LrSchedule?> Schedule { get; } = new("--schedule") { Description = $"Learning-rate schedule: cosine (decay to 0, after --warmup), onecycle or constant {Default(c => c.Schedule)}" };
    public Option<double?> Warmup { get; } = new("--warmup") { Description = $"Cosine schedule: share of the steps spent warming up linearly {Default(c => c.Warmup)}" };
    public Option<OptimizerKind?> Optimizer { get; } = new("--optimizer") { Description = $"adam, adamw or sgd (Nesterov momentum 0.9) {Default(c => c.Optimizer)}" };
    public Option<double?> WeightDecay { get; } = new("--weight-decay") { Description = $"Weight decay (decoupled for adamw, L2 otherwise) {Default(c => c.WeightDecay)}" };
    public Option<double?> Ema { get; } = new("--ema") { Description = $"Decay of the moving average of the weights that is validated and saved; 0 = off {Default(c => c.Ema)}" };
    public Option<double?> Prune { get; } = new("--prune") { Description = $"Loss-based data pruning (InfoBatch): each epoch leave out this share of the images whose last loss is below the mean, weighting the kept ones by 1/(1-r); the last 12.5% of epochs use all images; 0 = off {Default(c => c.Prune)}" };
    public Option<double?> MuonLr { get; } = new("--muon-lr") { Description = $"Speed network on sgd: train the convolution filters with Muon (orthogonalized momentum) at this peak rate, on the same schedule, the other parameters on sgd; 0 = off {Default(c => c.MuonLr)}" };
    public Option<double?> MuonMomentum { get; } = new("--muon-momentum") { Description = $"Muon: Nesterov momentum [default: {TrainConfig.DefaultMuonMomentum}]" };
    public Option<double?> BnBiasLrMult { get; } = new("--bn-bias-lr-mult") { Description = "Speed network on sgd: learning-rate multiplier of the BatchNorm biases (their weight decay divided by it) [default: 1]" };
    public Option<int?> WhitenBiasEpochs { get; } = new("--whiten-bias-epochs") { Description = "Speed network on sgd: train the whitening layer's bias for this many epochs, then keep it fixed [default: none (trains throughout)]" };
    public Option<int?> Lookahead { get; } = new("--lookahead") { Description = $"Lookahead: every K optimizer steps move slow weights towards the fast ones and reset the fast ones to them; 0 = off {Default(c => c.Lookahead)}" };
    public Option<double?> LookaheadAlpha { get; } = new("--lookahead-alpha") { Description = $"Lookahead: share of the way the slow weights move [default: {TrainConfig.DefaultLookaheadAlpha}]" };
    public Option<Precision?> Precision { get; } = new("--precision") { Description = $"Arithmetic of the training step: fp32; bf16 with fp32 master weights; or auto (bf16 where the CPU has AMX tiles, or is an AMD CPU with AVX512_BF16 (Zen 4, Zen 5); else fp32: decided by what the CPU is, never by a timing) {Default(c => c.Precision)}" };
    public Option<Models.MemoryLayout?> Layout { get; } = new("--layout")
    {
        HelpName = "auto|nchw|channels-last",
        Description = $"Memory layout of the activations: nchw, channels-last, or auto (channels-last where libtorch runs AVX2 or AVX-512 kernels, measured faster on both; nchw below AVX2); the same model either way {Default(c => c.Layout)}",
        CustomParser = r => Parsed(r, Models.LayoutChoice.Parse),
    };
    public Option<AugmentMode?> Augment { get; } = new("--augment") { Description = $"offline (one affine copy appended), online (fresh affine every epoch), crop (random crop of the padded image + flip, every epoch) or none {Default(c => c.Augment)}" };
    public Option<int?> CropPadding { get; } = new("--crop-padding") { Description = $"Crop augmentation: zero pixels added per side before the random crop {Default(c => c.Augmentation.CropPadding)}" };
    public Option<double?> Erase { get; } = new("--erase") { Description = $"Random erasing probability (online and crop modes) {Default(c => c.Augmentation.EraseProbability)}" };
    public Option<double?> EraseMaxArea { get; } = new("--erase-max-area") { Description = $"Random erasing: largest rectangle, share of the image (smallest {Seed.Augmentation.EraseMinArea}) {Default(c => c.Augmentation.EraseMaxArea)}" };
    public Option<double?> LabelSmoothing { get; } = new("--label-smoothing") { Description = $"Label smoothing {Default(c => c.LabelSmoothing)}" };
    public Option<int?> SeedOption { get; } = new("--seed") { Description = $"Seeds shuffling, augmentation, initialisation and the split {Default(c => c.Seed)}" };
    public Option<int?> TrainLimit { get; } = Common.Limit("--train-limit", "training");
    public Option<double?> ValidationFraction { get; } = new("--validation-fraction")
    {
        Description = $"Share of the training images held out (stratified) to pick the best epoch; 0 trains on all of them and keeps the last epoch, a final fit once settings were chosen on validation {Default(c => c.ValidationFraction)}",
    };
    public Option<double?> Shear { get; } = new("--shear") { Description = $"Augmentation: shear angle range, radians {Default(c => c.Augmentation.Shear)}" };
    public Option<double?> Zoom { get; } = new("--zoom") { Description = $"Augmentation: zoom range, scale in [1-z, 1+z] per axis {Default(c => c.Augmentation.Zoom)}" };
    public Option<double?> Shift { get; } = new("--shift") { Description = $"Augmentation: shift range, fraction of the side {Default(c => c.Augmentation.Shift)}" };
    public Option<double?> Flip { get; } = new("--flip") { Description = $"Augmentation: horizontal flip probability {Default(c => c.Augmentation.FlipProbability)}" };

    public IEnumerable<Option> All => [Preset, ConfigFile, Arch, Width, Blocks, Widths, Depth, WhitenPatch, LogitScale, Momentum, AlternateFlip, NoAlternateFlip, BatchSize, Dropout1, Dropout2, Lstm, Dense, Epochs, Lr, Schedule, Warmup,
        Optimizer, WeightDecay, Ema, Prune, MuonLr, MuonMomentum, BnBiasLrMult, WhitenBiasEpochs, Lookahead, LookaheadAlpha, Precision, Layout, Augment, Shear, Zoom, Shift, Flip, CropPadding, Erase, EraseMaxArea, LabelSmoothing, SeedOption, TrainLimit,
        ValidationFraction];

    /// <summary>The options that shape the network (what `summary` takes).</summary>
    public IEnumerable<Option> ModelOptions => [Preset, Arch, Width, Blocks, Widths, Depth, WhitenPatch, LogitScale, Dropout1, Dropout2, Lstm, Dense];

    /// <summary>A value parsed by core code; its FmnistException becomes a parse error (a usage message, not a crash).</summary>
    private static T? Parsed<T>(System.CommandLine.Parsing.ArgumentResult r, Func<string, T> parse)
    {
        try
        {
            return parse(r.Tokens.Single().Value);
        }
        catch (FmnistException e)
        {
            r.AddError(e.Message);
            return default;
        }
    }

    /// <summary>The options the user set, as overrides (unregistered options read as unset).</summary>
    public ConfigOverrides Overrides(ParseResult p) => new()
    {
        Arch = p.GetValue(Arch),
        Width = p.GetValue(Width),
        Blocks = p.GetValue(Blocks) is { Length: > 0 } blocks ? blocks : null, // an unset list option reads as empty
        Widths = p.GetValue(Widths) is { Length: > 0 } widths ? widths : null,
        Depth = p.GetValue(Depth),
        WhitenPatch = p.GetValue(WhitenPatch),
        LogitScale = p.GetValue(LogitScale),
        Momentum = p.GetValue(Momentum),
        AlternateFlip = Switch(p, AlternateFlip, NoAlternateFlip),
        BatchSize = p.GetValue(BatchSize),
        Dropout1 = p.GetValue(Dropout1),
        Dropout2 = p.GetValue(Dropout2),
        Lstm = p.GetValue(Lstm),
        Dense = p.GetValue(Dense),
        Epochs = p.GetValue(Epochs),
        LearningRate = p.GetValue(Lr),
        Schedule = p.GetValue(Schedule),
        Warmup = p.GetValue(Warmup),
        Optimizer = p.GetValue(Optimizer),
        WeightDecay = p.GetValue(WeightDecay),
        Ema = p.GetValue(Ema),
        Prune = p.GetValue(Prune),
        MuonLr = p.GetValue(MuonLr),
        MuonMomentum = p.GetValue(MuonMomentum),
        BnBiasLrMult = p.GetValue(BnBiasLrMult),
        WhitenBiasEpochs = p.GetValue(WhitenBiasEpochs),
        Lookahead = p.GetValue(Lookahead),
        LookaheadAlpha = p.GetValue(LookaheadAlpha),
        Precision = p.GetValue(Precision),
        Layout = p.GetValue(Layout),
        Augment = p.GetValue(Augment),
        LabelSmoothing = p.GetValue(LabelSmoothing),
        Shear = p.GetValue(Shear),
        Zoom = p.GetValue(Zoom),
        Shift = p.GetValue(Shift),
        Flip = p.GetValue(Flip),
        CropPadding = p.GetValue(CropPadding),
        Erase = p.GetValue(Erase),
        EraseMaxArea = p.GetValue(EraseMaxArea),
        Seed = p.GetValue(SeedOption),
        TrainLimit = p.GetValue(TrainLimit),
        ValidationFraction = p.GetValue(ValidationFraction),
    };

    /// <summary>A flag pair's value: true, false, or null (neither given: the preset's). Both given is a usage error.</summary>
    private static bool? Switch(ParseResult p, Option<bool> on, Option<bool> off)
    {
        bool? yes = p.GetResult(on) is { Implicit: false } ? p.GetValue(on) : null, no = p.GetResult(off) is { Implicit: false } ? !p.GetValue(off) : null;
        if (yes is not null && no is not null) throw new UsageException($"{on.Name} and {off.Name}: give one");
        return yes ?? no;
    }

    /// <summary>The preset with the user's options applied, validated (a bad value is a usage error).</summary>
    public TrainConfig Resolve(ParseResult p)
    {
        var overrides = Overrides(p);
        TrainConfig start;
        if (p.GetValue(ConfigFile) is { } file)
        {
            if (p.GetResult(Preset) is { Implicit: false }) throw new UsageException("--config and --preset: give one starting point, not both");
            start = TrainConfig.FromFile(file);
        }
        else start = Presets.Get(p.GetValue(Preset)!);
        var config = Validated(overrides.Apply(start));
        if (Applicability.Ignored(overrides, config) is { } ignored) throw new UsageException(ignored);
        return config;
    }

    public static TrainConfig Validated(TrainConfig c)
    {
        try
        {
            c.Validate();
            return c;
        }
        catch (FmnistException e)
        {
            throw new UsageException(e.Message);
        }
    }
}
