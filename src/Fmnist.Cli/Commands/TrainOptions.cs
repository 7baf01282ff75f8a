using System.CommandLine;
using Fmnist.Features;
using Fmnist.Training;

namespace Fmnist.Cli.Commands;

/// <summary>The hyperparameter options of `train` (and `sweep`/`reproduce` overrides); unset ones keep the preset's value.</summary>
internal sealed class TrainOptions
{
    private static readonly TrainConfig Seed = new();

    public Option<string> Preset { get; } = new("--preset") { Description = "Starting configuration: seed (the seed's best row) or improved", DefaultValueFactory = _ => "seed" };
    public Option<int?> BatchSize { get; } = new("--batch-size") { Description = $"Mini-batch size [default: {Seed.BatchSize}]" };
    public Option<double?> Dropout1 { get; } = new("--dropout1") { Description = $"Dropout before the first dense layer [default: {Seed.Model.Dropout1}]" };
    public Option<double?> Dropout2 { get; } = new("--dropout2") { Description = $"Dropout before the output layer [default: {Seed.Model.Dropout2}]" };
    public Option<int?> Lstm { get; } = new("--lstm") { Description = $"LSTM hidden size [default: {Seed.Model.Lstm}]" };
    public Option<int?> Dense { get; } = new("--dense") { Description = $"First dense layer size [default: {Seed.Model.Dense}]" };
    public Option<int?> Epochs { get; } = new("--epochs") { Description = $"Epochs [default: {Seed.Epochs}; improved: 25]" };
    public Option<double?> Lr { get; } = new("--lr") { Description = $"Adam learning rate [default: {Seed.LearningRate}]" };
    public Option<LrSchedule?> Schedule { get; } = new("--schedule") { Description = "Learning-rate schedule: cosine (decay to 0) or constant [default: cosine]" };
    public Option<AugmentMode?> Augment { get; } = new("--augment") { Description = "offline (one augmented copy appended), online (fresh every epoch) or none [default: offline; improved: online]" };
    public Option<double?> LabelSmoothing { get; } = new("--label-smoothing") { Description = "Label smoothing [default: 0; improved: 0.1]" };
    public Option<int?> SeedOption { get; } = new("--seed") { Description = $"Seeds shuffling, augmentation, initialisation and the split [default: {Seed.Seed}]" };
    public Option<int?> TrainLimit { get; } = Common.Limit("--train-limit", "training");
    public Option<double?> ValidationFraction { get; } = new("--validation-fraction")
    {
        Description = $"Share of the training images held out (stratified) to pick the best epoch; 0 trains on all of them and keeps the last epoch, a final fit once settings were chosen on validation [default: {Seed.ValidationFraction}]",
    };
    public Option<double?> Shear { get; } = new("--shear") { Description = $"Augmentation: shear angle range, radians [default: {Seed.Augmentation.Shear}; improved: 0.15]" };
    public Option<double?> Zoom { get; } = new("--zoom") { Description = $"Augmentation: zoom range, scale in [1-z, 1+z] per axis [default: {Seed.Augmentation.Zoom}]" };
    public Option<double?> Shift { get; } = new("--shift") { Description = $"Augmentation: shift range, fraction of the side [default: {Seed.Augmentation.Shift}]" };
    public Option<double?> Flip { get; } = new("--flip") { Description = $"Augmentation: horizontal flip probability [default: {Seed.Augmentation.FlipProbability}]" };

    public IEnumerable<Option> All => [Preset, BatchSize, Dropout1, Dropout2, Lstm, Dense, Epochs, Lr, Schedule, Augment, Shear, Zoom, Shift, Flip,
        LabelSmoothing, SeedOption, TrainLimit, ValidationFraction];

    public TrainConfig Resolve(ParseResult p)
    {
        var c = Presets.Get(p.GetValue(Preset)!);
        var m = c.Model;
        m = m with
        {
            Dropout1 = p.GetValue(Dropout1) ?? m.Dropout1,
            Dropout2 = p.GetValue(Dropout2) ?? m.Dropout2,
            Lstm = p.GetValue(Lstm) ?? m.Lstm,
            Dense = p.GetValue(Dense) ?? m.Dense,
        };
        var a = c.Augmentation;
        var resolved = c with
        {
            Model = m,
            Augmentation = a with
            {
                Shear = p.GetValue(Shear) ?? a.Shear,
                Zoom = p.GetValue(Zoom) ?? a.Zoom,
                Shift = p.GetValue(Shift) ?? a.Shift,
                FlipProbability = p.GetValue(Flip) ?? a.FlipProbability,
            },
            BatchSize = p.GetValue(BatchSize) ?? c.BatchSize,
            Epochs = p.GetValue(Epochs) ?? c.Epochs,
            LearningRate = p.GetValue(Lr) ?? c.LearningRate,
            Schedule = p.GetValue(Schedule) ?? c.Schedule,
            Augment = p.GetValue(Augment) ?? c.Augment,
            LabelSmoothing = p.GetValue(LabelSmoothing) ?? c.LabelSmoothing,
            Seed = p.GetValue(SeedOption) ?? c.Seed,
            TrainLimit = p.GetValue(TrainLimit) ?? c.TrainLimit,
            ValidationFraction = p.GetValue(ValidationFraction) ?? c.ValidationFraction,
        };
        try
        {
            resolved.Validate();
        }
        catch (FmnistException e)
        {
            throw new UsageException(e.Message);
        }
        return resolved;
    }
}
