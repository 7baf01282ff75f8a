using static Fmnist.Tests.InProcessCli;
using System.Text.Json;
using Fmnist.Data;

namespace Fmnist.Tests;

/// <summary>The CLI run in-process: exit codes, stdout that is pure JSON, one-line errors.</summary>
public class CliTests
{
    [Fact]
    public void Knn_json_is_one_object_with_the_documented_fields()
    {
        var (code, output, _) = Run("knn", "--json", "--train-limit", "2000", "--test-limit", "100", "--k", "1,9");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(127, root.GetProperty("threshold").GetInt32());
        Assert.Equal(2000, root.GetProperty("train").GetInt32());
        Assert.Equal(100, root.GetProperty("test").GetInt32());
        var results = root.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([1, 9], results.Select(r => r.GetProperty("k").GetInt32()));
        Assert.All(results, r => Assert.InRange(r.GetProperty("accuracy").GetDouble(), 0.5, 1.0));
        Assert.True(root.GetProperty("seconds").GetDouble() > 0);
    }

    [Fact]
    public void Knn_table_shows_the_seed_figures()
    {
        var (code, output, _) = Run("knn", "--train-limit", "1000", "--test-limit", "50");
        Assert.Equal(0, code);
        Assert.Contains("78.48 %", output); // the seed's K=1 figure beside ours
        Assert.Contains("Seed's accuracy", output);
    }

    [Fact]
    public void Data_json_reports_counts_and_checksums()
    {
        var (code, output, _) = Run("data", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(60000, doc.RootElement.GetProperty("train").GetInt32());
        Assert.True(doc.RootElement.GetProperty("official").GetBoolean());
        Assert.Equal(10, doc.RootElement.GetProperty("classes").GetArrayLength());
    }

    [Fact]
    public void Summary_counts_the_parameters()
    {
        var (code, output, _) = Run("summary", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(1_018_922, doc.RootElement.GetProperty("total_parameters").GetInt64());
    }

    [Fact]
    public void Summary_of_the_resnet_counts_its_parameters_and_flops()
    {
        var (code, output, _) = Run("summary", "--json", "--preset", "resnet");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(696_042, doc.RootElement.GetProperty("total_parameters").GetInt64());
        Assert.Equal(161_017_344, doc.RootElement.GetProperty("forward_flops").GetInt64());
        (code, output, _) = Run("summary", "--json", "--arch", "resnet", "--width", "16", "--blocks", "1,1,1");
        Assert.Equal(0, code);
        using var small = JsonDocument.Parse(output);
        Assert.Equal(77_754, small.RootElement.GetProperty("total_parameters").GetInt64());
    }

    [Theory]
    [InlineData("--arch", "vgg", "--arch: 'vgg' is not one of cnn-lstm, resnet, speed")]
    [InlineData("--blocks", "2,x", "--blocks: '2,x' is not")]
    public void Bad_arch_options_are_usage_errors(string option, string value, string message)
    {
        var (code, output, err) = Run("summary", option, value);
        Assert.NotEqual(0, code);
        Assert.Contains(message, output + err); // a parse error, reported with the usage text
        Assert.DoesNotContain("   at ", output + err);
    }

    [Fact]
    public void Bad_data_folder_is_one_line_exit_1_no_stack_trace()
    {
        var dir = TestData.WriteDataset(TestData.Random(5, 1), TestData.Random(5, 2));
        IdxReader.Write(Path.Combine(dir, "train-labels-idx1-ubyte.gz"), IdxReader.LabelMagic, [5], [1, 2, 3, 4, 200]);
        var (code, output, err) = Run("knn", "--data-dir", dir);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Equal($"fmnist: {Path.Combine(dir, "train-labels-idx1-ubyte.gz")}: label 200 at index 4 is out of range 0-9", err.Trim());
    }

    [Fact]
    public void Bad_option_values_are_usage_errors()
    {
        Assert.Equal((1, "fmnist: --k: 'zero' is not a whole number in 1..60000"), Short(Run("knn", "--k", "zero")));
        Assert.Equal((1, "fmnist: --threshold must be 0..254, got 300"), Short(Run("knn", "--threshold", "300")));
        Assert.Equal(1, Run("train", "--preset", "nope").Code);
        Assert.Equal((1, "fmnist: --validation-fraction must be in [0, 1), got 1.5"), Short(Run("train", "--validation-fraction", "1.5")));
        Assert.NotEqual(0, Run("knn", "--no-such-option").Code);
    }

    private static (int, string) Short((int Code, string Out, string Err) r) => (r.Code, r.Err.Trim());

    [Fact]
    public void Predict_on_a_non_image_is_one_line_error()
    {
        var file = Path.Combine(TestData.TempDir(), "notes.txt");
        File.WriteAllText(file, "hello");
        var (code, _, err) = Run("predict", "--model", "runs/none", file);
        Assert.Equal(1, code);
        Assert.Equal($"fmnist: {file}: not a PNG or JPEG image", err.Trim());
    }

    [Fact]
    public void Help_states_defaults()
    {
        var (code, output, _) = Run("knn", "--help");
        Assert.Equal(0, code);
        Assert.Contains("default: 127", output);
        Assert.Contains("1,4,9,20,50,100", output);
    }

    [Fact]
    public void Help_of_every_command_states_each_default_once()
    {
        // An option whose description names its default and that also has a DefaultValueFactory gets
        // "[default: x] [default: x]" from System.CommandLine; walk the whole tree so no command does.
        var commands = new List<string[]>();
        void Walk(System.CommandLine.Command c, string[] path)
        {
            commands.Add(path);
            foreach (var sub in c.Subcommands) Walk(sub, [.. path, sub.Name]);
        }
        Walk(Cli.CliApp.Build(TextWriter.Null, TextWriter.Null), []);
        Assert.True(commands.Count > 12, $"only {commands.Count} commands found");
        foreach (var path in commands)
        {
            var (code, output, _) = Run([.. path, "--help"]);
            Assert.Equal(0, code);
            foreach (var line in output.Split('\n'))
            {
                int first = line.IndexOf("[default:", StringComparison.Ordinal);
                Assert.True(first < 0 || line.IndexOf("[default:", first + 1, StringComparison.Ordinal) < 0,
                    $"fmnist {string.Join(' ', path)} --help states a default twice: {line.Trim()}");
            }
        }
    }
}
