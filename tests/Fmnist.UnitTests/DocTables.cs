using System.Text;
using System.Text.RegularExpressions;

namespace Fmnist.Tests;

/// <summary>
/// Tables in the docs that are drawn from a data file sit between <c>&lt;!-- table:NAME SPEC --&gt;</c> and
/// <c>&lt;!-- /table --&gt;</c>. <see cref="Check"/> regenerates each block from its data and fails, naming the doc
/// and the table, when the doc disagrees; with FMNIST_WRITE_TABLES=1 it rewrites the doc from the data instead.
/// </summary>
internal static class DocTables
{
    public sealed record Block(string Name, string Spec, int BodyIndex, int BodyLength, string Body);

    private static readonly Regex BlockPattern =
        new(@"<!-- table:(?<name>[A-Za-z0-9_-]+)(?<spec>[^\n]*?)-->\n(?<body>(?:(?!<!-- /?table).)*?)\n<!-- /table -->", RegexOptions.Singleline);

    public static bool Writing => Environment.GetEnvironmentVariable("FMNIST_WRITE_TABLES") == "1";

    public static IReadOnlyList<Block> Blocks(string doc) =>
        BlockPattern.Matches(doc).Select(m => new Block(m.Groups["name"].Value, m.Groups["spec"].Value.Trim(),
            m.Groups["body"].Index, m.Groups["body"].Length, m.Groups["body"].Value)).ToList();

    /// <summary>
    /// Regenerates the blocks of <paramref name="relativeDoc"/> (a path from the repository root) for which
    /// <paramref name="generate"/> returns a table; <paramref name="required"/> names blocks that must exist.
    /// Returns the messages of the tables that disagree (none when writing).
    /// </summary>
    public static IReadOnlyList<string> Check(string relativeDoc, string dataName, Func<Block, string?> generate,
        IEnumerable<string>? required = null)
    {
        var path = Path.Combine(TestData.RepoRoot, relativeDoc);
        var doc = File.ReadAllText(path);
        var blocks = Blocks(doc);
        var failures = new List<string>();
        foreach (var name in required ?? [])
            if (blocks.All(b => b.Name != name)) failures.Add($"{relativeDoc} has no table:{name} block");
        var rewritten = new StringBuilder();
        var at = 0;
        foreach (var block in blocks)
        {
            var table = generate(block);
            if (table is null) continue;
            rewritten.Append(doc, at, block.BodyIndex - at).Append(table);
            at = block.BodyIndex + block.BodyLength;
            if (table != block.Body) failures.Add(Difference(relativeDoc, block.Name, dataName, block.Body, table));
        }
        rewritten.Append(doc, at, doc.Length - at);
        if (Writing)
        {
            if (rewritten.ToString() != doc) File.WriteAllText(path, rewritten.ToString());
            return [];
        }
        return failures;
    }

    private static string Difference(string doc, string table, string dataName, string actual, string expected)
    {
        var a = actual.Split('\n');
        var e = expected.Split('\n');
        var line = 0;
        while (line < a.Length && line < e.Length && a[line] == e[line]) line++;
        string At(string[] lines) => line < lines.Length ? lines[line] : "(no line)";
        return $"{doc}, table:{table} disagrees with {dataName} at table line {line + 1}:\n  doc:  {At(a)}\n  data: {At(e)}\n" +
            "  (FMNIST_WRITE_TABLES=1 rewrites the table from the data)";
    }

    public static void AssertNone(IReadOnlyList<string> failures) =>
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
}
