using System.CommandLine;
using Fmnist.Features;
using Fmnist.Training;

namespace Fmnist.Cli.Commands;

/// <summary>
/// The hyperparameter options of `train` (some shared by `summary`); unset ones keep the preset's value.
/// Every default shown in --help is read from the presets themselves.
/// </summary>
internal sealed class TrainOptions
{
    private static readonly TrainConfig Seed = Presets.Get("seed");
    private static readonly TrainConfig Improved = Presets.Get("improved");

    /// <summary>"[default: X]", plus "; improved: Y" when the improved preset differs.</summary>
    private static string Default<T>(Func<TrainConfig, T> get)
    {
        string Show(T v) => v switch
        {
            null => "none",
            Enum e => e.ToString().ToLowerInvariant(),
            IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
            _ => v.ToString()!,
        };
        var (s, i) = (Show(get(Seed)), Show(get(Improved)));
        return s == i ? $"[default: {s}]" : $"[default: {s}; improved: {i}]";
    }

    public Option<string> Preset { get; } = new("--preset") { Description = $"Starting configuration: {string.Join(" or ", Presets.Names)} (seed = the seed's best row)", DefaultValueFactory = _ => "seed" };
    public Option<int?> BatchSize { get; } = new("--batch-size") { Description = $"Mini-batch size {Default(c => c.BatchSize)}" };
    public Option<double?> Dropout1 { get; } = new("--dropout1") { Description = $"Dropout before the first dense layer {Default(c => c.Model.Dropout1)}" };
    public Option<double?> Dropout2 { get; } = new("--dropout2") { Description = $"Dropout before the output layer {Default(c => c.Model.Dropout2)}" };
    public Option<int?> Lstm { get; } = new("--lstm") { Description = $"LSTM hidden size {Default(c => c.Model.Lstm)}" };
    public Option<int?> Dense { get; } = new("--dense") { Description = $"First dense layer size {Default(c => c.Model.Dense)}" };
    public Option<int?> Epochs { get; } = new("--epochs") { Description = $"Epochs {Default(c => c.Epochs)}" };
    public Option<double?> Lr { get; } = new("--lr") { Description = $"Adam learning rate {Default(c => c.LearningRate)}" };
    public Option<LrSchedule?> Schedule { get; } = new("--schedule") { Description = $"Learning-rate schedule: cosine (decay to 0) or constant {Default(c => c.Schedule)}" };
    public Option<AugmentMode?> Augment { get; } = new("--augment") { Description = $"offline (one augmented copy appended), online (fresh every epoch) or none {Default(c => c.Augment)}" };
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

    public IEnumerable<Option> All => [Preset, BatchSize, Dropout1, Dropout2, Lstm, Dense, Epochs, Lr, Schedule, Augment, Shear, Zoom, Shift, Flip,
        LabelSmoothing, SeedOption, TrainLimit, ValidationFraction];

    /// <summary>The options the user set, as overrides (unregistered options read as unset).</summary>
    public ConfigOverrides Overrides(ParseResult p) => new()
    {
        BatchSize = p.GetValue(BatchSize),
        Dropout1 = p.GetValue(Dropout1),
        Dropout2 = p.GetValue(Dropout2),
        Lstm = p.GetValue(Lstm),
        Dense = p.GetValue(Dense),
        Epochs = p.GetValue(Epochs),
        LearningRate = p.GetValue(Lr),
        Schedule = p.GetValue(Schedule),
        Augment = p.GetValue(Augment),
        LabelSmoothing = p.GetValue(LabelSmoothing),
        Shear = p.GetValue(Shear),
        Zoom = p.GetValue(Zoom),
        Shift = p.GetValue(Shift),
        Flip = p.GetValue(Flip),
        Seed = p.GetValue(SeedOption),
        TrainLimit = p.GetValue(TrainLimit),
        ValidationFraction = p.GetValue(ValidationFraction),
    };

    /// <summary>The preset with the user's options applied, validated (a bad value is a usage error).</summary>
    public TrainConfig Resolve(ParseResult p) => Validated(Overrides(p).Apply(Presets.Get(p.GetValue(Preset)!)));

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
