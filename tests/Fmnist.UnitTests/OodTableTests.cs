using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Fmnist.Tests;

/// <summary>
/// docs/trust.md's OOD tables are drawn from their data file, docs/results/ood-benchmark-test.json (written by
/// `fmnist calibrate --ood DIR --json`): a table that disagrees with its data fails here. FMNIST_WRITE_TABLES=1
/// rewrites the tables from the data instead.
/// </summary>
public class OodTableTests
{
    private static readonly string[] Scores = ["confidence", "entropy", "energy", "mahalanobis", "neighbour_distance", "neighbour_dice", "neighbour_cosine", "ink_share", "shape_share", "border_clutter", "contrast"];

    private static string Header(string first) =>
        $"| {first} | {string.Join(" | ", Scores.Select(s => s.Replace('_', ' ')))} |";

    private static string Percent(double share) => (share * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";

    private static IReadOnlyDictionary<string, string> Tables(JsonElement benchmark)
    {
        var sets = benchmark.GetProperty("sets").EnumerateArray().ToList();
        var auroc = new StringBuilder();
        auroc.AppendLine($"| set | photos | refused by the rule (run folder) | {string.Join(" | ", Scores.Select(s => s.Replace('_', ' ')))} |");
        auroc.Append("|---|---:|---:|").AppendLine(string.Concat(Scores.Select(_ => "---:|")));
        foreach (var s in sets)
            auroc.AppendLine($"| {s.GetProperty("set").GetString()} | {s.GetProperty("images").GetInt32()} | {Percent(s.GetProperty("refused").GetDouble())} | " +
                string.Join(" | ", Scores.Select(k => s.GetProperty("auroc").GetProperty(k).GetDouble().ToString("0.000", CultureInfo.InvariantCulture))) + " |");
        var fpr = new StringBuilder();
        fpr.AppendLine(Header("set"));
        fpr.Append("|---|").AppendLine(string.Concat(Scores.Select(_ => "---:|")));
        foreach (var s in sets)
            fpr.AppendLine($"| {s.GetProperty("set").GetString()} | " + string.Join(" | ", Scores.Select(k => Percent(s.GetProperty("fpr_at95").GetProperty(k).GetDouble()))) + " |");
        return new Dictionary<string, string> { ["ood-auroc"] = auroc.ToString().TrimEnd(), ["ood-fpr"] = fpr.ToString().TrimEnd() };
    }

    [Fact]
    public void Trust_md_tables_agree_with_their_data()
    {
        using var data = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestData.RepoRoot, "docs", "results", "ood-benchmark-test.json")));
        var tables = Tables(data.RootElement.GetProperty("benchmark"));
        DocTables.AssertNone(DocTables.Check("docs/trust.md", "docs/results/ood-benchmark-test.json",
            block => tables.TryGetValue(block.Name, out var table) ? table : null, tables.Keys));
    }
}
