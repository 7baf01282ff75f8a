using System.Text.Json;

namespace Fmnist.Tests;

/// <summary>Every --json answer names its schema first; every failure under --json is a JSON error object on stdout.</summary>
public class JsonContractTests
{
    [Theory]
    [InlineData("fmnist.version/2", "version", "--json")]
    [InlineData("fmnist.summary/1", "summary", "--json")]
    public void A_command_names_its_schema_first(string schema, params string[] args)
    {
        var (code, stdout, _) = InProcessCli.Run(args);
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        var first = doc.RootElement.EnumerateObject().First();
        Assert.Equal("schema", first.Name);
        Assert.Equal(schema, first.Value.GetString());
    }

    [Theory]
    [InlineData("usage", "--lstm does not apply", "train", "--preset", "resnet", "--lstm", "64", "--data-dir", "/nonexistent-data", "--json")]
    [InlineData("usage", "--test-limit must be at least 1", "evaluate", "--model", "m", "--test-limit", "0", "--json")]
    [InlineData("bad_input", "nothing.png: file not found", "predict", "--model", "/nonexistent/run", "nothing.png", "--json")]
    public void A_failure_under_json_is_an_error_object_on_stdout(string code, string message, params string[] args)
    {
        var (exit, stdout, stderr) = InProcessCli.Run(args);
        Assert.Equal(1, exit);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal("fmnist.error/1", doc.RootElement.GetProperty("schema").GetString());
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Contains(message, error.GetProperty("message").GetString());
        Assert.Contains(message, stderr);
    }

    [Fact]
    public void Every_schema_a_command_can_print_is_listed_in_docs_json_md()
    {
        var doc = File.ReadAllText(Path.Combine(TestData.RepoRoot, "docs", "json.md"));
        var sources = Directory.GetFiles(Path.Combine(TestData.RepoRoot, "src", "Fmnist.Cli"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"));
        var named = sources.SelectMany(f => System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(f), "\"(fmnist\\.[a-z-]+/\\d+)\"").Select(m => m.Groups[1].Value));
        var commands = Cli.CliApp.Build(TextWriter.Null, TextWriter.Null).Subcommands
            .SelectMany(c => c.Subcommands.Count == 0 ? [c.Name] : c.Subcommands.Select(s => $"{c.Name}-{s.Name}"))
            .Where(n => n is not "completion").Select(n => $"`fmnist.{n}/");
        foreach (var schema in named.Distinct())
            Assert.Contains($"`{schema}`", doc);
        foreach (var command in commands) // at whatever version
            Assert.Contains(command, doc);
    }

    /// <summary>
    /// Every --json answer is a named record (src/Fmnist.Cli/JsonRecords.cs) and names its schema by the constant on
    /// that record, so the record, docs/json.md and the snapshot agree: an anonymous object (`WriteJson(new { ... })`)
    /// or a schema written out as a string at the call fails here.
    /// </summary>
    [Fact]
    public void Every_json_answer_is_a_named_record_that_names_its_schema_by_its_constant()
    {
        var sep = Path.DirectorySeparatorChar;
        var sources = Directory.GetFiles(Path.Combine(TestData.RepoRoot, "src", "Fmnist.Cli"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{sep}obj{sep}") && !f.Contains($"{sep}bin{sep}"));
        var problems = new List<string>();
        int calls = 0;
        foreach (var file in sources)
        {
            var text = File.ReadAllText(file);
            foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(text, @"(?<!void )\bWriteJson\("))
            {
                calls++;
                int start = m.Index + m.Length, depth = 1, i = start;
                for (; i < text.Length && depth > 0; i++)
                    depth += text[i] switch { '(' => 1, ')' => -1, _ => 0 };
                var args = text[start..(i - 1)];
                var where = $"{Path.GetFileName(file)}:{text[..m.Index].Count(c => c == '\n') + 1}";
                if (System.Text.RegularExpressions.Regex.IsMatch(args, @"^\s*new\s*\{"))
                    problems.Add($"{where}: an anonymous object; declare a record in JsonRecords.cs");
                var schema = System.Text.RegularExpressions.Regex.Match(args, @",\s*(\w+(?:\.\w+)*)\.Schema\s*$");
                if (!schema.Success)
                    problems.Add($"{where}: the schema is not a record's Schema constant: WriteJson({args.Trim()[..Math.Min(60, args.Trim().Length)]}...");
                else if (System.Text.RegularExpressions.Regex.Match(args, @"^\s*new\s+(\w+(?:\.\w+)*)\s*\(") is { Success: true } record
                         && record.Groups[1].Value != schema.Groups[1].Value)
                    problems.Add($"{where}: a {record.Groups[1].Value} written under {schema.Groups[1].Value}.Schema");
            }
        }
        Assert.True(calls > 10, $"found only {calls} WriteJson calls in src/Fmnist.Cli: has the method been renamed?");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>Rows of lists are named too: no property of a --json record, or of a record inside one, is typed
    /// object (an anonymous shape the record does not declare).</summary>
    [Fact]
    public void No_json_record_holds_an_untyped_object_at_any_depth()
    {
        var records = typeof(Cli.JsonUnits).Assembly.GetTypes()
            .Where(t => t.Namespace == "Fmnist.Cli" && t.GetField("Schema") is { IsLiteral: true }).ToList();
        Assert.True(records.Count > 20, $"found only {records.Count} records with a Schema constant");
        var seen = new HashSet<Type>();
        var problems = new List<string>();
        void Walk(Type type, string path)
        {
            if (type == typeof(object)) { problems.Add(path); return; }
            if (type == typeof(string) || type.IsPrimitive || type.IsEnum || !seen.Add(type)) return;
            if (Nullable.GetUnderlyingType(type) is { } inner) { Walk(inner, path); return; }
            if (type.IsArray) { Walk(type.GetElementType()!, path + "[]"); return; }
            if (type.IsGenericType && type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>)) is { } list)
            {
                Walk(list.GetGenericArguments()[0], path + "[]");
                return;
            }
            if (type.Namespace?.StartsWith("System", StringComparison.Ordinal) == true) return;
            foreach (var p in type.GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
                Walk(p.PropertyType, $"{path}.{p.Name}");
        }
        foreach (var r in records) Walk(r, r.Name);
        Assert.True(problems.Count == 0, "untyped: " + string.Join(", ", problems));
    }
}

/// <summary>One word means one thing in every command; an old name is refused with a pointer to the new one.</summary>
public class OptionVocabularyTests
{
    [Theory]
    [InlineData("--batches is now --steps", "bench", "train", "--batches", "5")]
    [InlineData("--batches is now --steps", "bench", "infer", "--model", "m", "--batches", "5")]
    [InlineData("--threads is now --ort-threads", "bench", "infer", "--model", "m", "--threads", "2")]
    [InlineData("--batch is now --max-batch", "serve", "--batch", "8")]
    [InlineData("--out is now --file", "export", "--model", "m", "--out", "x.onnx")]
    public void An_old_option_name_points_to_the_new_one(string message, params string[] args)
    {
        var (code, _, stderr) = InProcessCli.Run(args);
        Assert.NotEqual(0, code);
        Assert.Contains(message, stderr);
    }

    /// <summary>A list option is taken one way in every command (comma-separated, or repeated), and its help says so.</summary>
    [Fact]
    public void Every_list_option_takes_commas_and_repeats_and_says_so()
    {
        IEnumerable<System.CommandLine.Command> All(System.CommandLine.Command c) => c.Subcommands.SelectMany(s => All(s).Prepend(s));
        var lists = All(Cli.CliApp.Build(TextWriter.Null, TextWriter.Null))
            .SelectMany(c => c.Options.Where(o => !o.Hidden && o.Arity.MaximumNumberOfValues > 1).Select(o => (c.Name, Option: o))).ToList();
        Assert.Contains(lists, l => l.Option.Name == "--k");
        Assert.All(lists, l => Assert.True(l.Option.Description!.Contains("comma-separated, or the option repeated"), $"{l.Name} {l.Option.Name}: {l.Option.Description}"));

        var (code, stdout, stderr) = InProcessCli.Run("knn", "--train-limit", "300", "--test-limit", "20", "--k", "1,3", "--k", "5", "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal([1, 3, 5], doc.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("k").GetInt32()));
    }

    /// <summary>A switch is a flag pair; both halves at once are refused before any work.</summary>
    [Fact]
    public void A_switch_is_a_flag_pair()
    {
        var (code, _, stderr) = InProcessCli.Run("train", "--alternate-flip", "--no-alternate-flip", "--data-dir", "/nonexistent-data");
        Assert.Equal(1, code);
        Assert.Contains("--alternate-flip and --no-alternate-flip: give one", stderr);
    }
}
