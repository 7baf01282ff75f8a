using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Fmnist.Tests;

/// <summary>
/// Every measured run's figures (test accuracy, minutes, command, CPU, date) live in one data file,
/// docs/results/runs.csv. The results tables of README.md and docs/*.md are drawn from it between
/// <c>&lt;!-- table:NAME runs=ID,ID,... columns=KEY[:Header],... --&gt;</c> and <c>&lt;!-- /table --&gt;</c>: a table
/// that disagrees with the data fails here, naming the doc and the table; FMNIST_WRITE_TABLES=1 rewrites the
/// tables from the data instead. <c>group=cpu</c> makes one row per CPU of ranges over the listed runs.
/// </summary>
public class ResultsTableTests
{
    private const string DataName = "docs/results/runs.csv";

    private static readonly Dictionary<string, (string Header, bool Numeric)> Columns = new()
    {
        ["what"] = ("run", false),
        ["what_note"] = ("run", false),
        ["note"] = ("conditions", false),
        ["command"] = ("command", false),
        ["cpu"] = ("CPU", false),
        ["cpu_precision"] = ("CPU", false),
        ["precision"] = ("precision", false),
        ["date"] = ("date", false),
        ["minutes"] = ("minutes", true),
        ["test"] = ("test", true),
        ["validation"] = ("validation", true),
        ["testval"] = ("test (validation)", true),
        ["seed_test"] = ("seed (Keras)", true),
        ["log"] = ("log", false),
    };

    internal static IReadOnlyList<Dictionary<string, string>> ReadRuns()
    {
        var rows = ParseCsv(File.ReadAllText(Path.Combine(TestData.RepoRoot, "docs", "results", "runs.csv")));
        var header = rows[0];
        return rows.Skip(1).Where(r => r.Count > 1)
            .Select(r => header.Select((h, i) => (h, v: i < r.Count ? r[i] : "")).ToDictionary(x => x.h, x => x.v)).ToList();
    }

    /// <summary>RFC 4180: fields separated by commas, quoted with double quotes where they hold commas or quotes.</summary>
    internal static List<List<string>> ParseCsv(string text)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { row.Add(field.ToString()); field.Clear(); }
            else if (c == '\n') { row.Add(field.ToString()); field.Clear(); rows.Add(row); row = []; }
            else if (c != '\r') field.Append(c);
        }
        if (field.Length > 0 || row.Count > 0) { row.Add(field.ToString()); rows.Add(row); }
        return rows;
    }

    private static (List<string> Ids, List<(string Key, string Header)> Columns, string? Group) ParseSpec(string spec, string where)
    {
        var runs = Regex.Match(spec, @"(?:^|\s)runs=(\S+)");
        var group = Regex.Match(spec, @"(?:^|\s)group=(\S+)");
        var columns = Regex.Match(spec, @"(?:^|\s)columns=(.+)$");
        Assert.True(runs.Success && columns.Success, $"{where}: the marker needs runs=ID,ID,... and columns=KEY[:Header],... (last)");
        var cols = columns.Groups[1].Value.Trim().Split(',').Select(c =>
        {
            var parts = c.Split(':', 2);
            Assert.True(Columns.ContainsKey(parts[0]), $"{where}: unknown column '{parts[0]}' (known: {string.Join(", ", Columns.Keys)})");
            return (parts[0], parts.Length == 2 ? parts[1] : Columns[parts[0]].Header);
        }).ToList();
        return (runs.Groups[1].Value.Split(',').ToList(), cols, group.Success ? group.Groups[1].Value : null);
    }

    private static string Percent(string value) => value.Length == 0 ? "–" : value + "%";

    private static string Code(string command) => "`" + command + "`";

    private static string Cell(string text) => text.Replace("|", "\\|");

    internal static string Render(string relativeDoc, DocTables.Block block, IReadOnlyDictionary<string, Dictionary<string, string>> runs)
    {
        var where = $"{relativeDoc}, table:{block.Name}";
        var (ids, columns, group) = ParseSpec(block.Spec, where);
        foreach (var id in ids) Assert.True(runs.ContainsKey(id), $"{where}: no run '{id}' in {DataName}");
        var rows = ids.Select(id => runs[id]).ToList();
        var sb = new StringBuilder();
        sb.AppendLine("| " + string.Join(" | ", columns.Select(c => c.Header)) + " |");
        sb.AppendLine("| " + string.Join(" | ", columns.Select(c => Columns[c.Key].Numeric ? "---:" : "---")) + " |");
        if (group is not null)
        {
            Assert.True(group == "cpu", $"{where}: only group=cpu is supported");
            foreach (var g in rows.GroupBy(r => r["cpu"]))
                sb.AppendLine("| " + string.Join(" | ", columns.Select(c => c.Key switch
                {
                    "cpu" => g.Key,
                    "minutes" => Range(g.Select(r => r["minutes"]), ""),
                    "test" => Range(g.Select(r => r["test"]), "%"),
                    _ => throw new InvalidOperationException($"{where}: column {c.Key} has no range"),
                })) + " |");
            return sb.ToString().TrimEnd('\n');
        }
        var mixed = rows.Any(r => r["command"] != "./fmnist reproduce");
        foreach (var r in rows)
        {
            var trainer = r["trained_by"].Length > 0 ? runs[r["trained_by"]] : null;
            var trainerShown = trainer is not null && ids.Contains(trainer["id"]);
            string value(string key) => key switch
            {
                "what" => r["what"],
                "what_note" => r["note"].Length > 0 ? $"{r["what"]} ({r["note"]})" : r["what"],
                "note" => r["note"].Length > 0 ? r["note"] : "–",
                "command" => r["command"].Length == 0 ? "–"
                    : trainer is not null && !trainerShown ? $"{Code(trainer["command"])}, then {Code(r["command"])}" : Code(r["command"]),
                "cpu" => r["cpu"],
                "cpu_precision" => r["precision"].Length > 0 ? $"{r["cpu"]}, {r["precision"]}" : r["cpu"],
                "precision" => r["precision"].Length > 0 ? r["precision"] : "–",
                "date" => r["date"],
                "minutes" => r["minutes"].Length > 0
                    ? r["minutes"] + (mixed && r["command"] == "./fmnist reproduce" ? " (whole job)" : "")
                    : trainer is null ? "–" : trainerShown ? $"({trainer["minutes"]})" : trainer["minutes"],
                "test" => Percent(r["test"]),
                "validation" => Percent(r["validation"]),
                "testval" => Percent(r["test"]) + (r["validation"].Length > 0 ? $" ({Percent(r["validation"])})" : ""),
                "seed_test" => Percent(r["seed_test"]),
                "log" => r["log"].Length == 0 ? "–" : $"[{Path.GetFileName(r["log"])}]({Link(relativeDoc, r["log"])})",
                _ => throw new InvalidOperationException(key),
            };
            sb.AppendLine("| " + string.Join(" | ", columns.Select(c => Cell(value(c.Key)))) + " |");
        }
        return sb.ToString().TrimEnd('\n');
    }

    /// <summary>The lowest and highest of the values, each written as the data writes it.</summary>
    private static string Range(IEnumerable<string> values, string unit)
    {
        var v = values.Where(x => x.Length > 0).OrderBy(x => decimal.Parse(x, CultureInfo.InvariantCulture)).ToList();
        if (v.Count == 0) return "–";
        return v[0] == v[^1] ? v[0] + unit : $"{v[0]}–{v[^1]}{unit}";
    }

    private static string Link(string fromDoc, string repoPath) =>
        Path.GetRelativePath(Path.GetDirectoryName(Path.Combine(TestData.RepoRoot, fromDoc))!, Path.Combine(TestData.RepoRoot, repoPath))
            .Replace('\\', '/');

    private static IEnumerable<string> Docs() =>
        new[] { "README.md" }.Concat(Directory.GetFiles(Path.Combine(TestData.RepoRoot, "docs"), "*.md")
            .Select(p => "docs/" + Path.GetFileName(p)).Order(StringComparer.Ordinal));

    [Fact]
    public void Results_tables_agree_with_runs_csv()
    {
        var runs = ReadRuns().ToDictionary(r => r["id"]);
        var failures = new List<string>();
        var tables = new List<string>();
        foreach (var doc in Docs())
            failures.AddRange(DocTables.Check(doc, DataName, block =>
            {
                if (!block.Spec.Contains("runs=")) return null;
                tables.Add($"{doc}:{block.Name}");
                return Render(doc, block, runs);
            }));
        // The README, results.md, speedrun.md and resnet.md state these figures; each must draw them from the data.
        foreach (var doc in new[] { "README.md", "docs/results.md", "docs/speedrun.md", "docs/resnet.md" })
            Assert.True(tables.Any(t => t.StartsWith(doc + ":", StringComparison.Ordinal)), $"{doc} has no table drawn from {DataName}");
        Assert.Equal(tables.Count, tables.Distinct().Count());
        DocTables.AssertNone(failures);
    }

    [Fact]
    public void Readme_results_were_all_measured_on_the_cpu_it_names()
    {
        var runs = ReadRuns().ToDictionary(r => r["id"]);
        var readme = File.ReadAllText(Path.Combine(TestData.RepoRoot, "README.md"));
        Assert.Contains("all measured on one 2-core **AMD EPYC Zen 4**", readme);
        foreach (var block in DocTables.Blocks(readme).Where(b => b.Spec.Contains("runs=")))
            foreach (var id in ParseSpec(block.Spec, "README.md").Ids)
                Assert.True(runs[id]["cpu"] is "Zen 4" or "any", $"README.md, table:{block.Name}: run {id} ran on {runs[id]["cpu"]}, but the README says Zen 4");
    }

    [Fact]
    public void Runs_csv_is_well_formed()
    {
        var rows = ReadRuns();
        Assert.Equal(rows.Count, rows.Select(r => r["id"]).Distinct().Count());
        var ids = rows.Select(r => r["id"]).ToHashSet();
        foreach (var r in rows)
        {
            var id = r["id"];
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}$", r["date"]);
            Assert.False(string.IsNullOrEmpty(r["cpu"]), $"{id}: no CPU");
            Assert.True(r["command"].Length == 0 || r["command"].StartsWith("./fmnist ", StringComparison.Ordinal), $"{id}: command '{r["command"]}'");
            foreach (var key in new[] { "minutes", "test", "validation", "seed_test" })
                Assert.True(r[key].Length == 0 || Regex.IsMatch(r[key], @"^\d+\.\d+$"), $"{id}: {key} '{r[key]}' is not a plain number");
            Assert.True(r["trained_by"].Length == 0 || ids.Contains(r["trained_by"]), $"{id}: trained_by '{r["trained_by"]}' is no run");
            Assert.True(r["minutes"].Length == 0 || r["trained_by"].Length == 0, $"{id}: minutes and trained_by both set");
            Assert.True(r["log"].Length == 0 || File.Exists(Path.Combine(TestData.RepoRoot, r["log"])), $"{id}: log {r["log"]} is missing");
        }
    }

    /// <summary>docs/results/time-to-accuracy.csv (the figure's data) repeats runs; where its command is a run's, the figures agree.</summary>
    [Fact]
    public void Time_to_accuracy_points_agree_with_runs_csv()
    {
        var runs = ReadRuns();
        var points = ParseCsv(File.ReadAllText(Path.Combine(TestData.RepoRoot, "docs", "results", "time-to-accuracy.csv")));
        var header = points[0];
        int col(string name) => header.IndexOf(name);
        var matched = 0;
        foreach (var p in points.Skip(1).Where(p => p.Count == header.Count))
        {
            var run = runs.FirstOrDefault(r => r["command"] == p[col("command")]);
            if (run is null) continue;
            matched++;
            var minutes = run["minutes"].Length > 0 ? run["minutes"] : runs.First(r => r["id"] == run["trained_by"])["minutes"];
            Assert.True(decimal.Parse(minutes, CultureInfo.InvariantCulture) == decimal.Parse(p[col("minutes")], CultureInfo.InvariantCulture),
                $"time-to-accuracy.csv '{p[0]}': {p[col("minutes")]} minutes, {DataName} {run["id"]}: {minutes}");
            Assert.True(decimal.Parse(run["test"], CultureInfo.InvariantCulture) == 100 * decimal.Parse(p[col("test_accuracy")], CultureInfo.InvariantCulture),
                $"time-to-accuracy.csv '{p[0]}': test {p[col("test_accuracy")]}, {DataName} {run["id"]}: {run["test"]}%");
        }
        Assert.True(matched >= 10, $"only {matched} points of time-to-accuracy.csv name a command of {DataName}");
    }

    [Fact]
    public void Readme_links_resolve()
    {
        var readme = File.ReadAllText(Path.Combine(TestData.RepoRoot, "README.md"));
        var broken = new List<string>();
        foreach (Match m in Regex.Matches(readme, @"\]\((?<target>[^)\s]+)\)"))
        {
            var target = m.Groups["target"].Value;
            if (Regex.IsMatch(target, @"^[a-z]+:")) continue;
            var hash = target.IndexOf('#');
            var file = hash >= 0 ? target[..hash] : target;
            var anchor = hash >= 0 ? target[(hash + 1)..] : null;
            var path = Path.Combine(TestData.RepoRoot, file.Length == 0 ? "README.md" : file);
            if (!File.Exists(path) && !Directory.Exists(path)) { broken.Add($"{target}: no such file"); continue; }
            if (anchor is not null && path.EndsWith(".md", StringComparison.Ordinal) && !Anchors(File.ReadAllText(path)).Contains(anchor))
                broken.Add($"{target}: no heading with the anchor #{anchor}");
        }
        Assert.True(broken.Count == 0, "README.md links that do not resolve:\n" + string.Join("\n", broken));
    }

    /// <summary>GitHub's heading anchors: lower case, punctuation dropped but hyphens, spaces as hyphens.</summary>
    private static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>();
        var inFence = false;
        foreach (var line in markdown.Split('\n'))
        {
            if (line.StartsWith("```", StringComparison.Ordinal)) inFence = !inFence;
            if (inFence || !line.StartsWith('#')) continue;
            var text = line.TrimStart('#').Trim().ToLowerInvariant();
            var slug = new string(text.Where(c => char.IsLetterOrDigit(c) || c is ' ' or '-' or '_').ToArray()).Replace(' ', '-');
            var unique = slug;
            for (var n = 1; !anchors.Add(unique); n++) unique = $"{slug}-{n}";
        }
        return anchors;
    }
}
