using Fmnist.Models;
using Fmnist.Models.CnnLstm;
using Fmnist.Models.ResNet;
using Fmnist.Models.Speed;
using System.Text.Json;
using Fmnist.Cli;
using Fmnist.Export;
using Fmnist.Inference;
using Fmnist.Training;
using Google.Protobuf;

namespace Fmnist.Tests;

/// <summary>Each bad model file or export target: its own one-line error naming the file, exit 1, nothing left behind.</summary>
public class ExportErrorTests
{
    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Evaluates <paramref name="file"/> through the CLI; asserts exit 1, one stderr line naming it, the same
    /// message as a JSON error object on stdout (--json), no new files.</summary>
    private static string EvaluateFails(string file)
    {
        var dir = Path.GetDirectoryName(file)!;
        var before = ExportSupport.Files(dir);
        var (code, output, err) = Cli("evaluate", "--model", file, "--test-limit", "20", "--json");
        Assert.Equal(1, code);
        var line = Assert.Single(err.Trim().Split('\n'));
        Assert.StartsWith($"fmnist: {file}: ", line);
        using (var json = JsonDocument.Parse(output))
            Assert.Equal(line["fmnist: ".Length..], json.RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(before, ExportSupport.Files(dir));
        return line;
    }

    private static string ValidExport(string dir) =>
        OnnxExporter.Export(ExportSupport.NonDefaultRun, Path.Combine(dir, "good.onnx")).File;

    [Fact]
    public void Corrupt_onnx_file()
    {
        var file = Path.Combine(TestData.TempDir(), "corrupt.onnx");
        var garbage = new byte[4096];
        new Random(5).NextBytes(garbage);
        File.WriteAllBytes(file, garbage);
        Assert.Contains("not an ONNX file", EvaluateFails(file));
    }

    [Fact]
    public void Truncated_onnx_file()
    {
        var dir = TestData.TempDir();
        var bytes = File.ReadAllBytes(ValidExport(dir));
        var file = Path.Combine(dir, "truncated.onnx");
        File.WriteAllBytes(file, bytes[..(bytes.Length / 2)]);
        File.Delete(Path.Combine(dir, "good.onnx"));
        Assert.Contains("truncated ONNX file", EvaluateFails(file));
    }

    [Fact]
    public void Onnx_model_with_the_wrong_input_shape()
    {
        // A valid model that takes flat 784-pixel rows instead of [batch,1,28,28] images.
        var g = new OnnxGraphBuilder();
        var x = g.Input("images", [null, 784], ["batch", "pixels"]);
        var logits = g.Linear(x, "fc", new Weights(new float[10 * 784], [10, 784]), new Weights(new float[10], [10]));
        g.Output(g.Softmax(logits), "probabilities", [null, 10], ["batch", "classes"]);
        var file = Write(g, "flat-input.onnx");
        Assert.Contains("input 'images' is float [batch,784]; expected float [batch,1,28,28]", EvaluateFails(file));
    }

    [Fact]
    public void Onnx_model_with_the_wrong_output_count()
    {
        var g = new OnnxGraphBuilder();
        var x = g.Reshape(g.Input("images", [null, 1, 28, 28], ["batch", "c", "h", "w"]), 0, -1);
        var logits = g.Linear(x, "fc", new Weights(new float[10 * 784], [10, 784]), new Weights(new float[10], [10]));
        var probs = g.Softmax(logits);
        g.Output(probs, "probabilities", [null, 10], ["batch", "classes"]);
        g.Output(logits, "logits", [null, 10], ["batch", "classes"]);
        g.Output(g.Relu(logits), "extra", [null, 10], ["batch", "classes"]);
        var file = Write(g, "three-outputs.onnx");
        Assert.Contains("model has 3 outputs; expected probabilities [batch,10]", EvaluateFails(file));
    }

    [Fact]
    public void Onnx_model_with_the_wrong_class_count()
    {
        var g = new OnnxGraphBuilder();
        var x = g.Reshape(g.Input("images", [null, 1, 28, 28], ["batch", "c", "h", "w"]), 0, -1);
        var logits = g.Linear(x, "fc", new Weights(new float[5 * 784], [5, 784]), new Weights(new float[5], [5]));
        g.Output(g.Softmax(logits), "probabilities", [null, 5], ["batch", "classes"]);
        var file = Write(g, "five-classes.onnx");
        Assert.Contains("output 'probabilities' is float [batch,5]; expected float [batch,10]", EvaluateFails(file));
    }

    [Fact]
    public void Missing_onnx_file()
    {
        var file = Path.Combine(TestData.TempDir(), "nowhere.onnx");
        Assert.Equal($"fmnist: {file}: model file not found", EvaluateFails(file));
    }

    private static string Write(OnnxGraphBuilder g, string name)
    {
        var file = Path.Combine(TestData.TempDir(), name);
        File.WriteAllBytes(file, g.Build(new Dictionary<string, string>(), "test").ToByteArray());
        return file;
    }

    [Theory]
    [InlineData("onnx")]
    [InlineData("pytorch")]
    public void Export_to_a_folder_that_does_not_exist(string format)
    {
        var parent = TestData.TempDir();
        var target = Path.Combine(parent, "missing", "model.out");
        var (code, output, err) = Cli("export", "--model", ExportSupport.NonDefaultRun, "--format", format, "--file", target);
        Assert.Equal((1, ""), (code, output));
        Assert.Equal($"fmnist: {target}: folder {Path.Combine(parent, "missing")} does not exist", err.Trim());
        Assert.Empty(Directory.GetFileSystemEntries(parent));
    }

    [Fact]
    public void Export_to_a_path_that_is_a_directory()
    {
        var dir = TestData.TempDir();
        var (code, output, err) = Cli("export", "--model", ExportSupport.NonDefaultRun, "--file", dir);
        Assert.Equal((1, ""), (code, output));
        Assert.Equal($"fmnist: {dir}: is a directory; give a file name such as {Path.Combine(dir, "model.onnx")}", err.Trim());
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public void Export_of_a_run_folder_without_weights()
    {
        var run = Path.Combine(TestData.TempDir(), "run");
        Directory.CreateDirectory(run);
        File.Copy(new RunFolder(ExportSupport.NonDefaultRun).ConfigPath, Path.Combine(run, "config.json"));
        foreach (var format in new[] { "onnx", "pytorch" })
        {
            var (code, output, err) = Cli("export", "--model", run, "--format", format);
            Assert.Equal((1, ""), (code, output));
            Assert.Equal($"fmnist: {Path.Combine(run, "model.pt")}: weights file not found", err.Trim());
            Assert.Equal(["config.json"], ExportSupport.Files(run));
        }
    }

    [Fact]
    public void Export_of_a_folder_that_is_not_a_run()
    {
        var dir = TestData.TempDir();
        var (code, _, err) = Cli("export", "--model", dir);
        Assert.Equal(1, code);
        Assert.Equal($"fmnist: {dir}: not a run folder (no config.json)", err.Trim());
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public void Corrupt_pytorch_file_is_a_one_line_error_naming_it()
    {
        var file = Path.Combine(TestData.TempDir(), "model.pth");
        File.WriteAllText(file, "not a pickle");
        var e = Assert.Throws<FmnistException>(() => PyTorchExporter.Load(file, new CnnLstmConfig()));
        Assert.StartsWith($"{file}: not a PyTorch state_dict of this network", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Validation_split_needs_the_run_folder_not_an_onnx_file()
    {
        var file = ValidExport(TestData.TempDir());
        var (code, _, err) = Cli("evaluate", "--model", file, "--split", "validation");
        Assert.Equal(1, code);
        Assert.StartsWith($"fmnist: {file}: --split validation needs the run folder", err.Trim());
    }

    [Fact]
    public void Onnx_classifier_reports_the_file_and_opens_through_classifiers()
    {
        var file = ValidExport(TestData.TempDir());
        using var model = Classifiers.Open(file);
        Assert.IsType<OnnxClassifier>(model);
        Assert.Equal("onnxruntime", model.Description.Runtime);
        Assert.Equal(file, model.Description.Source);
        Assert.True(model.Description.Parameters > 0);
    }
}
