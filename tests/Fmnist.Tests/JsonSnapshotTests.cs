using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fmnist.Tests;

/// <summary>
/// Every command's --json shape (field names, nesting, value types; values themselves normalised away) against a
/// committed snapshot, Snapshots/NAME.json. A change of shape fails here with the fields that differ: bump the
/// schema's version and rewrite the snapshots with FMNIST_WRITE_SNAPSHOTS=1. Every command the CLI builds with a
/// --json option must have a case, so a new command cannot ship without one.
/// </summary>
[Trait("Category", "Slow")]
public class JsonSnapshotTests(JsonSnapshotTests.Fixture env) : IClassFixture<JsonSnapshotTests.Fixture>
{
    internal static readonly string Folder = Path.Combine(TestData.RepoRoot, "tests", "Fmnist.Tests", "Snapshots");
    private static bool Rewrite => Environment.GetEnvironmentVariable("FMNIST_WRITE_SNAPSHOTS") == "1";

    /// <summary>One snapshot: its file name, the command path it covers (as CliIo names it), and how to run it.</summary>
    public sealed record Case(string Name, string Command, Func<Fixture, (int Code, string Out, string Err)> Run, int ExpectedCode = 0);

    /// <summary>Small inputs throughout: a 600/300-image slice (bench infer needs 256 test images) of the real data, a model of one epoch on 400 images.</summary>
    public static readonly Case[] Cases =
    [
        new("data", "data", f => f.Cli("data")),
        new("knn", "knn", f => f.Cli("knn", "--train-limit", "300", "--test-limit", "50", "--k", "1,3")),
        new("knn-tune", "knn", f => f.Cli("knn", "--tune", "--train-limit", "300", "--test-limit", "50")),
        new("train", "train", f => f.Train),
        new("train-ensemble", "train", f => f.Cli(["train", "--ensemble", "2", "--ensemble-parallel", "1", "--time-budget", "30", "--out", f.Path("ensemble"), .. Fixture.Tiny])),
        new("evaluate", "evaluate", f => f.Cli("evaluate", "--model", f.Model, "--test-limit", "100", "--out", f.Path("evaluate"))),
        new("predict", "predict", f => f.Cli("predict", "--model", f.Model, f.Photo)),
        new("explain", "explain", f => f.Cli("explain", "--model", f.Model, f.Photo, "--neighbours", "2", "--out", f.Path("explain"))),
        new("calibrate", "calibrate", f => f.Cli("calibrate", "--model", f.Model)),
        new("summary", "summary", f => f.Cli("summary")),
        new("sweep", "sweep", f => f.Sweep()),
        new("sweep-worker", "sweep", f => f.SweepWorker.Value),
        new("reproduce", "reproduce", f => f.Cli("reproduce", "--quick", "--out", f.Path("reproduce"))),
        new("bench-knn", "bench-knn", f => f.Cli("bench", "knn", "--repeat", "1")),
        new("bench-train", "bench-train", f => f.Cli("bench", "train", "--steps", "1", "--train-limit", "64", "--lstm", "8", "--dense", "8", "--batch-size", "32")),
        new("bench-train-compare", "bench-train", f => f.Cli("bench", "train", "--steps", "1", "--train-limit", "64", "--lstm", "8", "--dense", "8", "--batch-size", "32", "--compare-layout")),
        new("bench-infer", "bench-infer", f => f.Cli("bench", "infer", "--model", f.Model, "--single-calls", "10", "--steps", "1")),
        new("bench-curve", "bench-curve", f => f.Cli("bench", "curve", "--csv", Path.Combine(TestData.RepoRoot, "docs", "results", "time-to-accuracy.csv"), "--out", f.Path("curve.png"), "--goal", "60:95.5")),
        new("export", "export", f => f.Cli("export", "--model", f.Model, "--file", f.Path("model.onnx"))),
        new("serve", "serve", f => f.Serve()),
        new("version", "version", f => f.Cli("version")),
        new("error", "evaluate", f => f.Cli("evaluate", "--model", f.Model, "--test-limit", "0"), ExpectedCode: 1),
    ];

    public static TheoryData<string> Names => [.. Cases.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public void A_commands_json_keeps_the_shape_of_its_snapshot(string name)
    {
        var c = Cases.Single(x => x.Name == name);
        var (code, stdout, stderr) = c.Run(env);
        Assert.True(code == c.ExpectedCode, $"{name}: exit {code}, expected {c.ExpectedCode}; stderr: {stderr}");
        var shape = Shape(JsonNode.Parse(stdout), top: true);
        var file = Path.Combine(Folder, $"{name}.json");
        if (Rewrite)
        {
            Directory.CreateDirectory(Folder);
            File.WriteAllText(file, shape!.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            return;
        }
        Assert.True(File.Exists(file), $"no snapshot {file}: run FMNIST_WRITE_SNAPSHOTS=1 dotnet test --filter JsonSnapshotTests to write it");
        var diffs = new List<string>();
        Compare(JsonNode.Parse(File.ReadAllText(file)), shape, "$", diffs);
        Assert.True(diffs.Count == 0,
            $"{name}: the JSON differs in shape from {file}:\n  {string.Join("\n  ", diffs)}\n" +
            "If the change is meant, raise the schema's version (docs/json.md) and rewrite the snapshots with FMNIST_WRITE_SNAPSHOTS=1.");
    }

    /// <summary>
    /// The shape of a JSON value: scalars become their type ("number", "string", "boolean", "null"), an array one merged
    /// element shape (fields that only some elements have are kept), objects keep their field names. The top-level
    /// schema stays as it is: the name is the contract.
    /// </summary>
    public static JsonNode? Shape(JsonNode? node, bool top = false) => node switch
    {
        JsonObject o => new JsonObject(o.Select(p => KeyValuePair.Create(p.Key,
            top && p.Key == "schema" ? JsonValue.Create(p.Value!.GetValue<string>()) : Shape(p.Value)))),
        JsonArray a => a.Select(e => Shape(e)).Aggregate((JsonNode?)null, Merge) is { } element ? new JsonArray(element) : new JsonArray(),
        JsonValue v => JsonValue.Create(v.GetValueKind() switch
        {
            JsonValueKind.Number => "number",
            JsonValueKind.String => "string",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            _ => "null",
        }),
        _ => JsonValue.Create("null"),
    };

    private static bool IsNull(JsonNode? n) => n is null || (n is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() == "null");

    private static JsonNode? Merge(JsonNode? a, JsonNode? b)
    {
        if (IsNull(a)) return b?.DeepClone();
        if (IsNull(b)) return a;
        switch (a, b)
        {
            case (JsonObject x, JsonObject y):
                foreach (var (key, value) in y)
                    x[key] = x.ContainsKey(key) ? Merge(x[key], value)?.DeepClone() : value?.DeepClone();
                return x;
            case (JsonArray x, JsonArray y):
                var element = Merge(x.Count > 0 ? x[0]?.DeepClone() : null, y.Count > 0 ? y[0] : null);
                return element is null ? new JsonArray() : new JsonArray(element);
            default:
                var (s, t) = (a!.ToJsonString(), b!.ToJsonString());
                return s == t ? a : JsonValue.Create($"{a.GetValue<string>()}|{b.GetValue<string>()}");
        }
    }

    /// <summary>Lists every difference. A null on either side matches any type: some fields are null on some machines
    /// (a bf16 peak where bf16 is not native) or for some inputs.</summary>
    private static void Compare(JsonNode? expected, JsonNode? actual, string path, List<string> diffs)
    {
        if (IsNull(expected) || IsNull(actual)) return;
        switch (expected, actual)
        {
            case (JsonObject e, JsonObject a):
                foreach (var (key, _) in e.Where(p => !a.ContainsKey(p.Key))) diffs.Add($"{path}.{key}: in the snapshot, gone now");
                foreach (var (key, _) in a.Where(p => !e.ContainsKey(p.Key))) diffs.Add($"{path}.{key}: new, not in the snapshot");
                foreach (var (key, value) in e.Where(p => a.ContainsKey(p.Key))) Compare(value, a[key], $"{path}.{key}", diffs);
                break;
            case (JsonArray e, JsonArray a):
                if (e.Count > 0 && a.Count > 0) Compare(e[0], a[0], $"{path}[]", diffs);
                break;
            case (JsonValue e, JsonValue a):
                if (e.ToJsonString() != a.ToJsonString()) diffs.Add($"{path}: {e.ToJsonString()} in the snapshot, {a.ToJsonString()} now");
                break;
            default:
                diffs.Add($"{path}: {Kind(expected)} in the snapshot, {Kind(actual)} now");
                break;
        }
    }

    private static string Kind(JsonNode? n) => n switch { JsonObject => "an object", JsonArray => "an array", _ => $"a {n!.ToJsonString()}" };

    /// <summary>A slice of the real data as its own dataset, a tiny model trained once by `train --json`, one photo.</summary>
    public sealed class Fixture : IDisposable
    {
        /// <summary>The smallest training that still makes a usable run folder (validation split, trust.json).</summary>
        public static readonly string[] Tiny = ["--train-limit", "400", "--epochs", "1", "--lstm", "8", "--dense", "8", "--batch-size", "32", "--test-limit", "100"];

        private readonly string _root = TestData.TempDir();
        private readonly string _grid;

        public Fixture()
        {
            DataDir = TestData.WriteDataset(TestData.Fashion.Train.Take(600), TestData.Fashion.Test.Take(300), Directory.CreateDirectory(Path("data")).FullName);
            Model = Path("model");
            Train = Cli(["train", "--out", Model, .. Tiny]);
            Assert.True(Train.Code == 0, Train.Err);
            _grid = SweepWorkerTests.WriteGrid(_root, """{"base":{"train_limit":200,"epochs":1,"batch_size":32,"lstm":8,"dense":8},"trials":[{}]}""");
            // The worker runs the search's one trial; `sweep` then finds it done and writes the table.
            SweepWorker = new(() => Cli("sweep", "--grid", _grid, "--out", Path("sweep"), "--test-limit", "50", "--trial-index", "0"));
        }

        public string DataDir { get; }
        public string Model { get; }
        public (int Code, string Out, string Err) Train { get; }
        public Lazy<(int Code, string Out, string Err)> SweepWorker { get; }
        public string Photo { get; } = System.IO.Path.Combine(TestData.RepoRoot, "tests", "Fmnist.Tests", "Images", "gray.jpg");

        public string Path(string name) => System.IO.Path.Combine(_root, name);

        /// <summary>The command with --json, and --data-dir where it takes one.</summary>
        public (int Code, string Out, string Err) Cli(params string[] args)
        {
            var command = Fmnist.Cli.CliApp.Build(TextWriter.Null, TextWriter.Null).Parse(args).CommandResult.Command;
            bool data = command.Options.Any(o => o.Name == "--data-dir");
            return InProcessCli.Run([.. args, .. data ? new[] { "--data-dir", DataDir } : [], "--json"]);
        }

        public (int Code, string Out, string Err) Sweep()
        {
            var worker = SweepWorker.Value;
            Assert.True(worker.Code == 0, worker.Err);
            return Cli("sweep", "--grid", _grid, "--out", Path("sweep"), "--test-limit", "50");
        }

        public (int Code, string Out, string Err) Serve()
        {
            using var serve = ServeProcess.Start(["serve", "--model", Model, "--data-dir", DataDir, "--urls", "http://127.0.0.1:0", "--json"]);
            var json = serve.ReadJsonAsync().GetAwaiter().GetResult();
            serve.Terminate();
            var (code, err) = serve.ExitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
            return (code, json.GetRawText(), err);
        }

        public void Dispose()
        {
            try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
        }
    }
}

/// <summary>The snapshots' own checks, cheap enough for `./test.sh --fast` (no fixture, no command run).</summary>
public class JsonSnapshotCoverageTests
{
    [Fact]
    public void Every_command_with_json_has_a_snapshot_case_and_every_schema_a_snapshot()
    {
        var covered = JsonSnapshotTests.Cases.Select(c => c.Command).ToHashSet();
        var missing = Commands(Fmnist.Cli.CliApp.Build(TextWriter.Null, TextWriter.Null), "")
            .Where(n => !covered.Contains(n)).ToList();
        Assert.True(missing.Count == 0, $"commands with --json but no snapshot case in JsonSnapshotTests.Cases: {string.Join(", ", missing)}");
        // Every shape a command can print (each schema the CLI names) is pinned by a snapshot file.
        var snapshotted = Directory.GetFiles(JsonSnapshotTests.Folder, "*.json")
            .Select(f => JsonNode.Parse(File.ReadAllText(f))!["schema"]!.GetValue<string>()).ToHashSet();
        var sources = Directory.GetFiles(Path.Combine(TestData.RepoRoot, "src", "Fmnist.Cli"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"));
        var named = sources.SelectMany(f => System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(f), "\"(fmnist\\.[a-z-]+/\\d+)\"").Select(m => m.Groups[1].Value))
            .Distinct().Where(s => !snapshotted.Contains(s)).ToList();
        Assert.True(named.Count == 0, $"schemas without a snapshot: {string.Join(", ", named)}");
    }

    /// <summary>One `machine` record for every command that reports one, and one unit for every duration (docs/json.md).</summary>
    [Fact]
    public void Every_snapshot_describes_the_machine_one_way_and_times_in_seconds()
    {
        var machines = new List<(string File, string Shape)>();
        var badNames = new List<string>();
        void Walk(string file, JsonNode? node, string path)
        {
            if (node is JsonObject o)
                foreach (var (key, value) in o)
                {
                    if (key == "machine") machines.Add((file, value!.ToJsonString()));
                    // Durations are `seconds` / `*_seconds`, rates `*_per_second`: no milliseconds, minutes or hours.
                    if (System.Text.RegularExpressions.Regex.IsMatch(key, "(^|_)(ms|millis\\w*|minutes?|hours?|min)$")) badNames.Add($"{file}: {path}.{key}");
                    Walk(file, value, $"{path}.{key}");
                }
            else if (node is JsonArray a)
                foreach (var e in a) Walk(file, e, $"{path}[]");
        }
        foreach (var file in Directory.GetFiles(JsonSnapshotTests.Folder, "*.json"))
            Walk(System.IO.Path.GetFileName(file), JsonNode.Parse(File.ReadAllText(file)), "$");
        Assert.Empty(badNames);
        Assert.True(machines.Count >= 8, $"only {machines.Count} snapshots carry a machine");
        var shapes = machines.GroupBy(m => m.Shape).ToList();
        Assert.True(shapes.Count == 1, "machine differs between commands: " + string.Join("; ", shapes.Select(g => $"{string.Join(",", g.Select(m => m.File))}: {g.Key}")));
    }

    [Theory]
    [InlineData(0.000312345, 0.0003123)]
    [InlineData(1.23456, 1.235)]
    [InlineData(123456.7, 123500)]
    [InlineData(0, 0)]
    public void Timings_are_rounded_to_four_significant_digits(double value, double rounded) =>
        Assert.Equal(rounded.ToString("R"), Cli.JsonUnits.Round(value).ToString("R"));

    private static IEnumerable<string> Commands(System.CommandLine.Command parent, string prefix)
    {
        foreach (var c in parent.Subcommands)
        {
            var name = prefix.Length == 0 ? c.Name : $"{prefix}-{c.Name}";
            if (c.Options.Any(o => o.Name == "--json")) yield return name;
            foreach (var sub in Commands(c, name)) yield return sub;
        }
    }
}
