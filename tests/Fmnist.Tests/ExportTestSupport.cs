using Fmnist.Models;
using Fmnist.Models.CnnLstm;
using Fmnist.Models.ResNet;
using Fmnist.Models.Speed;
using Fmnist.Inference;
using System.Diagnostics;
using Fmnist.Features;
using Fmnist.Training;
using static TorchSharp.torch;

namespace Fmnist.Tests;

/// <summary>Run folders for export tests, comparisons of probability arrays, and the optional Python side.</summary>
public static class ExportSupport
{
    public static byte[] TestImages(int n) => TestData.Fashion.Test.Take(n).Images;

    /// <summary>The run's PyTorch state_dict export, loaded back into TorchSharp, gives bit-identical probabilities.</summary>
    public static void AssertPyTorchRoundTrip(string run)
    {
        var file = Export.PyTorchExporter.Export(run, Path.Combine(TestData.TempDir(), "model.pth")).File;
        var info = new Training.RunFolder(run).ReadInfo();
        var images = TestImages(200);
        using var back = Export.PyTorchExporter.Load(file, info.Config.Model);
        var roundTrip = Evaluation.Evaluator.Probabilities(back, images, info.Normalization);
        Assert.Equal(TorchProbabilities(run, images), roundTrip);
    }

    /// <summary>The official onnx.checker (full shape inference, via interop/python/check_onnx.py) accepts the run's ONNX export.</summary>
    public static void AssertOnnxCheckerAccepts(string run)
    {
        var file = Export.OnnxExporter.Export(run, Path.Combine(TestData.TempDir(), "m.onnx")).File;
        var script = Path.Combine(RepoRoot, "interop", "python", "check_onnx.py");
        var (code, output, err) = RunPython(script, file);
        Assert.True(code == 0, err);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        Assert.Equal(17, doc.RootElement.GetProperty("opset").GetInt32());
        Assert.Equal(["images"], doc.RootElement.GetProperty("inputs").EnumerateArray().Select(e => e.GetString()));
    }

    /// <summary>What the run folder's model gives through TorchSharp: the reference an export is compared with.</summary>
    public static float[] TorchProbabilities(string runDir, byte[] images)
    {
        using var torch = new TorchClassifier(runDir);
        return torch.Probabilities(images);
    }

    /// <summary>A run folder (config.json + model.pt) holding a randomly initialised network (of either
    /// architecture) whose BatchNorm statistics were moved off their initial values by train-mode passes over
    /// real images. With <paramref name="randomBatchNormAffine"/> the BatchNorm scales and shifts are drawn at
    /// random too (instead of 1 and 0), so that an exporter mixing them up, or folding them wrongly, shows.</summary>
    public static string RandomRunFolder(ModelConfig model, int seed = 7, bool randomBatchNormAffine = false)
    {
        TorchRuntime.Initialize();
        manual_seed(seed);
        var dir = Path.Combine(TestData.TempDir(), "random-run");
        var slice = TestData.Fashion.Train.Take(256);
        var norm = Normalization.FromImages(slice);
        var folder = new RunFolder(dir);
        using var net = Models.ModelFactory.Create(model);
        using (var sample = Training.TrainingStep.InitSample(new TrainConfig { Model = model }, tensor(slice.Images).reshape(256, 1, 28, 28), norm, 256))
            if (sample is not null) Models.Networks.Of(model).Initialise(net, sample);
        if (randomBatchNormAffine)
            using (no_grad())
                foreach (var bn in net.modules().OfType<TorchSharp.Modules.BatchNorm2d>())
                {
                    bn.weight!.uniform_(0.5, 1.5);
                    bn.bias!.uniform_(-0.3, 0.3);
                }
        net.train();
        using (no_grad())
        using (var x = Evaluation.Evaluator.ToInput(tensor(slice.Images).reshape(256, 1, 28, 28), norm))
            for (int i = 0; i < 5; i++) net.call(x).Dispose();
        net.eval();
        var config = new TrainConfig { Model = model, Seed = seed, Epochs = 1 };
        JsonFiles.Write(folder.ConfigPath, new RunInfo(config, norm, new Dictionary<string, string> { ["fmnist"] = "test" }, DateTimeOffset.UtcNow));
        folder.SaveWeights(net, folder.ModelPath);
        return dir;
    }

    private static readonly Lazy<string> SmallRandom = new(() => RandomRunFolder(new CnnLstmConfig { Lstm = 128, Dense = 256 }));

    /// <summary>One shared random run of non-default size (LSTM 128, dense 256): no size in the exporter can be hard-coded.</summary>
    public static string NonDefaultRun => SmallRandom.Value;

    /// <summary>Exports the run's weights for PyTorch, classifies 16 test images with
    /// interop/python/fmnist_model.py (Debian's PyTorch), and asserts they agree with TorchSharp to 1e-4;
    /// returns the largest difference.</summary>
    public static double AssertPythonAgrees(string run)
    {
        var dir = TestData.TempDir();
        var weights = Export.PyTorchExporter.Export(run, Path.Combine(dir, "model.pth")).File;
        var images = TestImages(16);
        var raw = Path.Combine(dir, "images.u8");
        File.WriteAllBytes(raw, images);
        var script = Path.Combine(RepoRoot, "interop", "python", "fmnist_model.py");
        var (code, output, err) = RunPython(script, weights, new Training.RunFolder(run).ConfigPath, raw);
        Assert.True(code == 0, err);
        var python = System.Text.Json.JsonSerializer.Deserialize<float[][]>(output)!.SelectMany(r => r).ToArray();
        return AssertAgree(TorchProbabilities(run, images), python, 1e-4);
    }

    /// <summary>Largest absolute difference; also asserts the same predicted class for every image.</summary>
    public static double AssertAgree(float[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        double max = 0;
        for (int i = 0; i < expected.Length; i++) max = Math.Max(max, Math.Abs(expected[i] - actual[i]));
        var a = Evaluation.Evaluator.ArgMax(expected);
        var b = Evaluation.Evaluator.ArgMax(actual);
        var differing = Enumerable.Range(0, a.Length).Where(i => a[i] != b[i]).ToList();
        Assert.True(differing.Count == 0, $"predicted class differs for {differing.Count} images (first: {string.Join(",", differing.Take(5))})");
        Assert.True(max <= tolerance, $"max |difference| {max:E3} > {tolerance:E1}");
        return max;
    }

    /// <summary>Lists a folder's files, hidden temporaries included (to prove an error left nothing behind).</summary>
    public static string[] Files(string dir) => Directory.GetFiles(dir).Select(Path.GetFileName).Order().ToArray()!;

    public const string Python = "/usr/bin/python3";

    /// <summary>Debian's python3-torch and python3-onnx load only in /usr/bin/python3 (see shared NOTES).</summary>
    public static readonly Lazy<string?> PythonMissing = new(() =>
    {
        if (!File.Exists(Python)) return $"{Python} is not installed";
        var (code, _, err) = RunProcess(Python, "-c", "import torch, onnx");
        return code == 0 ? null : $"{Python} lacks torch or onnx (apt-get install python3-torch python3-onnx): {err.Trim().Split('\n').LastOrDefault()}";
    });

    /// <summary>Runs /usr/bin/python3; a missing torch or onnx fails the test with the reason (reached only under CI=true).</summary>
    public static (int Code, string Out, string Err) RunPython(params string[] args)
    {
        Dependencies.Require(PythonMissing.Value);
        return RunProcess(Python, args);
    }

    public static (int Code, string Out, string Err) RunProcess(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "fmnist.slnx"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root (fmnist.slnx) not found above " + AppContext.BaseDirectory);
        }
    }
}

/// <summary>A fact that is skipped, with the reason, where Debian's PyTorch and onnx are not installed (fails under CI=true: <see cref="Dependencies"/>).</summary>
public sealed class PythonFactAttribute : FactAttribute
{
    public PythonFactAttribute()
    {
        Skip = Dependencies.SkipReason(ExportSupport.PythonMissing.Value, Dependencies.InCi);
    }
}
