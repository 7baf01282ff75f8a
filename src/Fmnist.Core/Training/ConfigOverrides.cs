using System.Text.Json;
using System.Text.Json.Serialization;
using Fmnist.Features;
using Fmnist.Models.CnnLstm;

namespace Fmnist.Training;

/// <summary>
/// Changes to a <see cref="TrainConfig"/>: unset fields keep the base value. The one place where a
/// preset meets what the user set, whether from command-line options, a sweep trial or a grid axis
/// (grid files use the snake_case names of these properties).
/// </summary>
internal sealed record ConfigOverrides
{
    public ModelArch? Arch { get; init; }
    public int? Width { get; init; }
    public int[]? Blocks { get; init; }
    public int[]? Widths { get; init; }
    public int? Depth { get; init; }
    public int? WhitenPatch { get; init; }
    public double? LogitScale { get; init; }
    public double? Momentum { get; init; }
    public bool? AlternateFlip { get; init; }
    public int? BatchSize { get; init; }
    public double? Dropout1 { get; init; }
    public double? Dropout2 { get; init; }
    public int? Lstm { get; init; }
    public int? Dense { get; init; }
    public int? Epochs { get; init; }
    public double? LearningRate { get; init; }
    public LrSchedule? Schedule { get; init; }
    public double? Warmup { get; init; }
    public OptimizerKind? Optimizer { get; init; }
    public double? WeightDecay { get; init; }
    public double? Ema { get; init; }
    public Precision? Precision { get; init; }
    public Models.MemoryLayout? Layout { get; init; }
    public AugmentMode? Augment { get; init; }
    public double? LabelSmoothing { get; init; }
    public double? Shear { get; init; }
    public double? Zoom { get; init; }
    public double? Shift { get; init; }
    public double? Flip { get; init; }
    public int? CropPadding { get; init; }
    public double? Erase { get; init; }
    public double? EraseMaxArea { get; init; }
    public int? Seed { get; init; }
    public int? TrainLimit { get; init; }
    public double? ValidationFraction { get; init; }

    public TrainConfig Apply(TrainConfig c) => c with
    {
        Model = c.Model with
        {
            Dropout1 = Dropout1 ?? c.Model.Dropout1,
            Dropout2 = Dropout2 ?? c.Model.Dropout2,
            Lstm = Lstm ?? c.Model.Lstm,
            Dense = Dense ?? c.Model.Dense,
            Arch = Arch ?? c.Model.Arch,
            Width = Width ?? c.Model.Width,
            Blocks = Blocks ?? c.Model.Blocks,
            Widths = Widths ?? c.Model.Widths,
            Depth = Depth ?? c.Model.Depth,
            WhitenPatch = WhitenPatch ?? c.Model.WhitenPatch,
            LogitScale = LogitScale ?? c.Model.LogitScale,
        },
        Augmentation = c.Augmentation with
        {
            Shear = Shear ?? c.Augmentation.Shear,
            Zoom = Zoom ?? c.Augmentation.Zoom,
            Shift = Shift ?? c.Augmentation.Shift,
            FlipProbability = Flip ?? c.Augmentation.FlipProbability,
            AlternateFlip = AlternateFlip ?? c.Augmentation.AlternateFlip,
            CropPadding = CropPadding ?? c.Augmentation.CropPadding,
            EraseProbability = Erase ?? c.Augmentation.EraseProbability,
            EraseMaxArea = EraseMaxArea ?? c.Augmentation.EraseMaxArea,
        },
        BatchSize = BatchSize ?? c.BatchSize,
        Epochs = Epochs ?? c.Epochs,
        LearningRate = LearningRate ?? c.LearningRate,
        Schedule = Schedule ?? c.Schedule,
        Warmup = Warmup ?? c.Warmup,
        Optimizer = Optimizer ?? c.Optimizer,
        WeightDecay = WeightDecay ?? c.WeightDecay,
        Momentum = Momentum ?? c.Momentum,
        Ema = Ema ?? c.Ema,
        Precision = Precision ?? c.Precision,
        Layout = Layout ?? c.Layout,
        Augment = Augment ?? c.Augment,
        LabelSmoothing = LabelSmoothing ?? c.LabelSmoothing,
        Seed = Seed ?? c.Seed,
        TrainLimit = TrainLimit ?? c.TrainLimit,
        ValidationFraction = ValidationFraction ?? c.ValidationFraction,
    };

    /// <summary>These overrides, then <paramref name="later"/>'s set fields on top.</summary>
    public ConfigOverrides Then(ConfigOverrides later)
    {
        // Field by field through JSON: a new option needs no edit here.
        var mine = JsonSerializer.SerializeToNode(this, Json)!.AsObject();
        foreach (var (key, value) in JsonSerializer.SerializeToNode(later, Json)!.AsObject())
            if (value is not null) mine[key] = value.DeepClone();
        return mine.Deserialize<ConfigOverrides>(Json)!;
    }

    /// <summary>The snake_case names a grid file may use.</summary>
    public static IReadOnlyList<string> Names { get; } =
        typeof(ConfigOverrides).GetProperties().Select(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name)).ToList();

    /// <summary>One field set from a JSON value (a grid axis); unknown names and wrong types are refused.</summary>
    public static ConfigOverrides With(string name, JsonElement value)
    {
        if (!Names.Contains(name)) throw new FmnistException($"unknown setting '{name}' (known: {string.Join(", ", Names)})");
        var doc = new System.Text.Json.Nodes.JsonObject { [name] = System.Text.Json.Nodes.JsonNode.Parse(value.GetRawText()) };
        try
        {
            return doc.Deserialize<ConfigOverrides>(Json)!;
        }
        catch (JsonException)
        {
            throw new FmnistException($"setting '{name}': {value.GetRawText()} is not a valid value");
        }
    }

    /// <summary>The project's JSON style, with null fields left out and unknown names refused.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonFiles.Options)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };
}
