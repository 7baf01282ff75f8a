using System.Globalization;
using Fmnist.Training;

namespace Fmnist.Models.CnnLstm;

/// <summary>
/// The seed's hyperparameter table: its five columns (batch size and four of this network's settings), the
/// accuracies it published, and how a trial's folder is named after them. Sweep reports and trial names ask
/// this class, so the CNN+LSTM's settings are named in its own folder only.
/// </summary>
internal static class SeedTable
{
    /// <summary>One published row (Keras, test accuracy).</summary>
    public sealed record Row(int BatchSize, double Dropout1, double Dropout2, int Lstm, int Dense, double Accuracy);

    /// <summary>The seed's rows, in its order; the best row is 256/0.4/0.5/256/128.</summary>
    public static readonly IReadOnlyList<Row> Published =
    [
        new(128, 0.4, 0.5, 256, 128, 0.9240),
        new(128, 0.4, 0.5, 128, 128, 0.9247),
        new(128, 0.4, 0.5, 128, 256, 0.9290),
        new(128, 0.5, 0.6, 128, 128, 0.9290),
        new(256, 0.4, 0.5, 128, 128, 0.9244),
        new(256, 0.4, 0.5, 256, 128, 0.9356),
        new(256, 0.5, 0.6, 256, 128, 0.9244),
        new(128, 0.4, 0.5, 512, 128, 0.9286),
    ];

    /// <summary>The columns' setting names (config.json, grid files, CSV headers).</summary>
    public static readonly IReadOnlyList<string> Columns = ["batch_size", "dropout1", "dropout2", "lstm", "dense"];

    /// <summary>The columns as the seed's report titled them.</summary>
    public static readonly IReadOnlyList<string> Headers =
        ["Batch size", "1st Dropout rate", "2nd Dropout rate", "Size of LSTM layer", "Size of 1st Dense layer"];

    /// <summary>Whether the seed's columns describe this configuration (a CNN+LSTM).</summary>
    public static bool Describes(TrainConfig c) => c.Model is CnnLstmConfig;

    /// <summary>A configuration's values in <see cref="Columns"/> order; for another network, the CNN+LSTM defaults
    /// (whose rows only a changes column describes).</summary>
    public static IReadOnlyList<object> Values(TrainConfig c)
    {
        var m = c.Model as CnnLstmConfig ?? new();
        return [c.BatchSize, m.Dropout1, m.Dropout2, m.Lstm, m.Dense];
    }

    /// <summary>The values as table cells: rates as 0.4, sizes as integers.</summary>
    public static IEnumerable<string> Cells(TrainConfig c) => Values(c).Select(v => v switch
    {
        double d => d.ToString("0.0##", CultureInfo.InvariantCulture),
        _ => Convert.ToString(v, CultureInfo.InvariantCulture)!,
    });

    /// <summary>The seed's accuracy for the same five values, when it published that row.</summary>
    public static double? Accuracy(TrainConfig c) => c.Model is CnnLstmConfig m
        ? Published.FirstOrDefault(s => s.BatchSize == c.BatchSize && s.Dropout1 == m.Dropout1
            && s.Dropout2 == m.Dropout2 && s.Lstm == m.Lstm && s.Dense == m.Dense)?.Accuracy
        : null; // the seed only reported its CNN+LSTM

    /// <summary>A trial folder's base name, e.g. b256-d0.4-0.5-lstm256-dense128; null for another network.</summary>
    public static string? FolderName(TrainConfig c) => c.Model is CnnLstmConfig m
        ? FormattableString.Invariant($"b{c.BatchSize}-d{m.Dropout1}-{m.Dropout2}-lstm{m.Lstm}-dense{m.Dense}")
        : null;
}
