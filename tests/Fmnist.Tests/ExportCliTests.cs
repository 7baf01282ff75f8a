using System.Text.Json;
using SkiaSharp;

namespace Fmnist.Tests;

/// <summary>`export`, `evaluate`/`predict` on an .onnx file, and `bench infer`, run in-process.</summary>
public class ExportCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => InProcessCli.Run(args);

    private static JsonElement Json(params string[] args)
    {
        var (code, output, err) = Run(args);
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output); // the whole of stdout is one JSON object
        return doc.RootElement.Clone();
    }

    /// <summary>A copy of the shared random run, so default outputs (beside the model) stay private to a test.</summary>
    private static string OwnRun()
    {
        var dir = Path.Combine(TestData.TempDir(), "run");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(ExportSupport.NonDefaultRun)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    [Fact]
    public void Export_writes_beside_the_model_by_default_in_both_formats()
    {
        var run = OwnRun();
        var onnx = Json("export", "--model", run, "--json");
        Assert.Equal(Path.Combine(run, "model.onnx"), onnx.GetProperty("file").GetString());
        Assert.Equal(17, onnx.GetProperty("opset").GetInt32());
        Assert.Equal(new FileInfo(Path.Combine(run, "model.onnx")).Length, onnx.GetProperty("bytes").GetInt64());
        var pth = Json("export", "--model", run, "--format", "pytorch", "--json");
        Assert.Equal(Path.Combine(run, "model.pth"), pth.GetProperty("file").GetString());
        Assert.Equal(onnx.GetProperty("parameters").GetInt64(), pth.GetProperty("parameters").GetInt64());
        Assert.DoesNotContain(Directory.GetFiles(run), f => Path.GetFileName(f).StartsWith('.')); // no temporaries left

        var (code, output, _) = Run("export", "--model", run);
        Assert.Equal(0, code);
        Assert.StartsWith($"wrote {Path.Combine(run, "model.onnx")} (onnx,", output.Trim());
    }

    [Fact]
    public void Evaluate_on_the_onnx_file_gives_the_run_folders_json_to_the_image()
    {
        var run = OwnRun();
        var file = Path.Combine(run, "model.onnx");
        Json("export", "--model", run, "--json");
        var reports = TestData.TempDir();
        var torch = Json("evaluate", "--model", run, "--test-limit", "600", "--json", "--out", reports);
        var onnx = Json("evaluate", "--model", file, "--test-limit", "600", "--json");
        Assert.Equal(file, onnx.GetProperty("model_dir").GetString());
        foreach (var key in new[] { "accuracy", "test_images", "confusion", "per_class" })
            Assert.Equal(torch.GetProperty(key).GetRawText(), onnx.GetProperty(key).GetRawText());
        Assert.Equal(Path.Combine(run, "confusion.png"), onnx.GetProperty("confusion_png").GetString()); // default --out: the file's folder
        Assert.True(File.Exists(Path.Combine(run, "errors.png")));
    }

    [Fact]
    public void Predict_on_the_onnx_file_matches_the_run_folder()
    {
        var run = OwnRun();
        var file = Path.Combine(run, "model.onnx");
        Json("export", "--model", run, "--json");
        var photos = Enumerable.Range(0, 3).Select(i => Png(TestData.Fashion.Test.Image(i).ToArray(), $"photo{i}.png")).ToArray();
        var torch = Json(["predict", "--model", run, "--json", .. photos]);
        var onnx = Json(["predict", "--model", file, "--json", .. photos]);
        var t = torch.GetProperty("predictions").EnumerateArray().ToList();
        var o = onnx.GetProperty("predictions").EnumerateArray().ToList();
        Assert.Equal(3, o.Count);
        for (int i = 0; i < t.Count; i++)
        {
            var tt = t[i].GetProperty("top").EnumerateArray().ToList();
            var ot = o[i].GetProperty("top").EnumerateArray().ToList();
            Assert.Equal(tt[0].GetProperty("class").GetString(), ot[0].GetProperty("class").GetString());
            for (int k = 0; k < tt.Count; k++)
                Assert.InRange(Math.Abs(tt[k].GetProperty("probability").GetDouble() - ot[k].GetProperty("probability").GetDouble()), 0, 1e-4);
        }
    }

    private static string Png(byte[] pixels, string name)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(28, 28, SKColorType.Gray8, SKAlphaType.Opaque));
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        var path = Path.Combine(TestData.TempDir(), name);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    [Fact]
    public void Bench_infer_reports_both_runtimes_for_a_run_folder_and_only_onnx_for_a_file()
    {
        var run = OwnRun();
        var both = Json("bench", "infer", "--model", run, "--single-calls", "20", "--steps", "1", "--json");
        var runtimes = both.GetProperty("runtimes").EnumerateArray().ToList();
        Assert.Equal(["torchsharp", "onnxruntime"], runtimes.Select(r => r.GetProperty("runtime").GetString()));
        foreach (var r in runtimes)
        {
            Assert.True(r.GetProperty("batch1_images_per_second").GetDouble() > 0);
            Assert.True(r.GetProperty("batch256_images_per_second").GetDouble() > 0);
            Assert.True(r.GetProperty("p99_seconds").GetDouble() >= r.GetProperty("p50_seconds").GetDouble());
        }
        Assert.Equal(["config.json", "model.pt"], ExportSupport.Files(run)); // the temporary export is gone
        MachineJson.AssertNamesTheMachine(both);
        Assert.True(both.GetProperty("gemm_peak").GetProperty("fp32_gflops").GetDouble() > 1);
        Assert.All(runtimes, r => Assert.InRange(r.GetProperty("share_of_gemm_peak").GetDouble(), 1e-4, 2));

        Json("export", "--model", run, "--json");
        var onnx = Json("bench", "infer", "--model", Path.Combine(run, "model.onnx"), "--single-calls", "20", "--steps", "1", "--json");
        Assert.Equal(["onnxruntime"], onnx.GetProperty("runtimes").EnumerateArray().Select(r => r.GetProperty("runtime").GetString()));

        var (code, _, err) = Run("bench", "infer", "--model", Path.Combine(run, "nope.onnx"));
        Assert.Equal((1, $"fmnist: {Path.Combine(run, "nope.onnx")}: model file not found"), (code, err.Trim()));
    }

    [Fact]
    public void Percentile_is_nearest_rank()
    {
        double[] sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        Assert.Equal(5, Inference.InferenceBenchmark.Percentile(sorted, 0.5));
        Assert.Equal(10, Inference.InferenceBenchmark.Percentile(sorted, 0.99));
        Assert.Equal(1, Inference.InferenceBenchmark.Percentile(sorted, 0.01));
    }
}
