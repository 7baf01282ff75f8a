using System.Text.Json;
using System.Globalization;
using System.Text;
using Fmnist.Experiments.Search;
using Fmnist.Models.CnnLstm;
using Fmnist.Training;

namespace Fmnist.Experiments;

/// <summary>The sweep's table in the seed's format (Markdown, CSV, JSON) and the validation curves of all trials.</summary>
internal static class SweepReport
{
    /// <summary>The seed's table when every trial is a CNN+LSTM; otherwise one row per trial with what it changes.</summary>
    public static string Markdown(SweepResult sweep) =>
        (SeedColumnsSuffice(sweep)
            ? Table(sweep.Trials.Select(t => (t.Result, ReferenceEquals(t, sweep.Best), t.Outcome)))
            : ChangesTable(sweep)) + "\n"
        + $"Best by validation accuracy (bold): {sweep.Best.Name}, copied to `best_model/`.\n"
        + (sweep.Trials.Count(t => t.Outcome == TrialOutcome.Stopped) is > 0 and var stopped
            ? $"{stopped} of {sweep.Trials.Count} trials were stopped early by successive halving; the test set was scored for finished trials only.\n"
            : "");

    /// <summary>Every trial a CNN+LSTM that changes nothing but the seed's five columns.</summary>
    private static bool SeedColumnsSuffice(SweepResult sweep) =>
        sweep.Trials.All(t => SeedTable.Describes(t.Result.Config)
            && (t.Changes is null || SetKeys(t.Changes).All(SeedTable.Columns.Contains)));

    private static IEnumerable<string> SetKeys(Training.ConfigOverrides o) =>
        System.Text.Json.JsonSerializer.SerializeToNode(o, Training.ConfigOverrides.Json)!.AsObject().Where(kv => kv.Value is not null).Select(kv => kv.Key);

    /// <summary>Epochs trained, and why fewer than planned when they are.</summary>
    public static string Epochs(RunResult r, TrialOutcome outcome) => outcome switch
    {
        TrialOutcome.Stopped => $"{r.History.Count} (stopped)",
        TrialOutcome.Diverged => $"{r.History.Count} (diverged)",
        _ => r.History.Count.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Trial by trial: the settings it changes from the base (e.g. an ablation's removed part).</summary>
    public static string ChangesTable(SweepResult sweep)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| Changes from the base | Epochs | Validation accuracy | Test accuracy | Minutes |");
        sb.AppendLine("| --- | --- | --- | --- | --- |");
        foreach (var t in sweep.Trials)
        {
            string B(string s) => ReferenceEquals(t, sweep.Best) ? $"**{s}**" : s;
            sb.AppendLine($"| {B(Describe(t.Changes))} | {Epochs(t.Result, t.Outcome)} | {B(P(t.Result.ValAccuracy))} | {P(t.Result.TestAccuracy)} | " +
                          $"{(t.Result.Seconds / 60).ToString("F1", CultureInfo.InvariantCulture)} |");
        }
        return sb.ToString();
    }

    /// <summary>"erase 0, ema 0", or "none (the base)" for an empty trial.</summary>
    public static string Describe(Training.ConfigOverrides? changes)
    {
        if (changes is null) return "none (the base)";
        var set = System.Text.Json.JsonSerializer.SerializeToNode(changes, Training.ConfigOverrides.Json)!.AsObject()
            .Where(kv => kv.Value is not null)
            .Select(kv => $"{kv.Key} {kv.Value!.ToJsonString().Trim('"')}")
            .ToList();
        return set.Count == 0 ? "none (the base)" : string.Join(", ", set);
    }

    /// <summary>The seed's hyperparameter table (its column names) with our validation and test accuracy; the best row bold.</summary>
    public static string Table(IEnumerable<(RunResult Run, bool Best)> rows) => Table(rows.Select(r => (r.Run, r.Best, TrialOutcome.Finished)));

    public static string Table(IEnumerable<(RunResult Run, bool Best, TrialOutcome Outcome)> rows)
    {
        var sb = new StringBuilder();
        string[] headers = [.. SeedTable.Headers, "Epochs", "Validation accuracy", "Test accuracy", "Seed's accuracy", "Minutes"];
        sb.AppendLine($"| {string.Join(" | ", headers)} |");
        sb.AppendLine($"|{string.Concat(headers.Select(_ => " --- |"))}");
        foreach (var (run, best, outcome) in rows)
        {
            string B(string s) => best ? $"**{s}**" : s;
            sb.AppendLine($"| {string.Join(" | ", SeedTable.Cells(run.Config).Select(B))} | " +
                          $"{Epochs(run, outcome)} | {B(P(run.ValAccuracy))} | {B(P(run.TestAccuracy))} | {(SeedAccuracy(run) is { } s ? P(s) : "-")} | " +
                          $"{(run.Seconds / 60).ToString("F1", CultureInfo.InvariantCulture)} |");
        }
        return sb.ToString();
    }

    public static double? SeedAccuracy(RunResult r) => SeedTable.Accuracy(r.Config);

    public static void Write(SweepResult sweep)
    {
        var dir = sweep.Directory;
        AtomicFile.WriteAllText(Path.Combine(dir, "sweep.md"), Markdown(sweep));
        var csv = new StringBuilder(string.Join(",", SeedTable.Columns) + ",epochs,val_accuracy,test_accuracy,seed_accuracy,minutes,skipped,outcome,name,changes\n");
        foreach (var t in sweep.Trials)
        {
            var seedColumns = string.Join(",", SeedTable.Values(t.Result.Config).Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)));
            csv.AppendLine(FormattableString.Invariant(
                $"{seedColumns},{t.Result.History.Count},{t.Result.ValAccuracy:F4},{(double.IsNaN(t.Result.TestAccuracy) ? "" : t.Result.TestAccuracy.ToString("F4", CultureInfo.InvariantCulture))},{SeedAccuracy(t.Result)},{t.Result.Seconds / 60:F2},{t.Skipped},{Snake(t.Outcome)},{t.Name},\"{Describe(t.Changes)}\""));
        }
        AtomicFile.WriteAllText(Path.Combine(dir, "sweep.csv"), csv.ToString());
        JsonFiles.Write(Path.Combine(dir, "sweep.json"), new
        {
            best = sweep.Best.Name,
            best_model = sweep.BestModelDir,
            trials = sweep.Trials.Select(t =>
            {
                var row = new Dictionary<string, object?> { ["name"] = t.Name, ["changes"] = Describe(t.Changes) };
                foreach (var (column, value) in SeedTable.Columns.Zip(SeedTable.Values(t.Result.Config))) row[column] = value;
                row["epochs"] = t.Result.History.Count;
                row["val_accuracy"] = t.Result.ValAccuracy;
                row["test_accuracy"] = Measured(t.Result.TestAccuracy);
                row["seed_accuracy"] = SeedAccuracy(t.Result);
                row["seconds"] = t.Result.Seconds;
                row["skipped"] = t.Skipped;
                row["outcome"] = Snake(t.Outcome);
                row["model_dir"] = t.Result.ModelDir;
                return row;
            }),
        });
        Reports.Plots.SaveLines("Validation accuracy per epoch, all trials", "Epoch", "Validation accuracy (%)",
            sweep.Trials.Select(t => (t.Name, (IReadOnlyList<double>)t.Result.History.Select(h => h.ValAccuracy.GetValueOrDefault() * 100).ToList())).ToList(),
            Path.Combine(dir, "val_curves.png"));
    }

    /// <summary>A percentage; "-" for NaN (a stopped trial's test accuracy: not measured).</summary>
    public static string P(double v) => double.IsNaN(v) ? "-" : (v * 100).ToString("F2", CultureInfo.InvariantCulture) + "%";

    /// <summary>Null for NaN, a stopped trial's unmeasured test accuracy.</summary>
    public static double? Measured(double v) => double.IsNaN(v) ? null : v;

    public static string Snake(TrialOutcome o) => o.ToString().ToLowerInvariant();

    public static string P(double? v) => v is { } x ? P(x) : "-";
}

/// <summary>Names a trial's run folder.</summary>
internal static class TrialNames
{
    /// <summary>Folder name: for the CNN+LSTM the seed's five hyperparameters, e.g. b256-d0.4-0.5-lstm256-dense128,
    /// for the ResNet resnet-b128; then any other setting the trial changes (e.g. -learning_rate0.002), so trials
    /// never share a folder.</summary>
    public static string Of(TrainConfig c, ConfigOverrides? trial = null)
    {
        var seedName = SeedTable.FolderName(c);
        var name = seedName ?? $"{c.Model.Arch}-b{c.BatchSize}";
        if (trial is null) return name;
        foreach (var (key, value) in JsonSerializer.SerializeToNode(trial, ConfigOverrides.Json)!.AsObject())
            if (value is not null && key != "batch_size" && !(seedName is not null && SeedTable.Columns.Contains(key)))
                name += $"-{key}{value.ToJsonString().Trim('"').Replace("[", "").Replace("]", "").Replace(',', '-')}"; // a list [2,2,2] -> 2-2-2
        return name;
    }
}
