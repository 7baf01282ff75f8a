using Fmnist.Models;
using Fmnist.Models.CnnLstm;
using Fmnist.Models.ResNet;
using Fmnist.Models.Speed;
using System.Text.Json;
using Fmnist.Data;
using Fmnist.Explanations;
using Fmnist.Inference;
using Fmnist.Training;
using SkiaSharp;
using Xunit.Abstractions;
using static Fmnist.Tests.InProcessCli;
using static TorchSharp.torch;

namespace Fmnist.Tests;

/// <summary>
/// Explanations that mean something: the maps follow the trained weights (randomising them changes the map) and
/// point at pixels that matter (hiding the most salient pixels costs the class more than hiding as many random
/// ones); occlusion gives the same map through ONNX Runtime; `fmnist explain` writes its figures and JSON.
/// </summary>
[Collection("trained model")]
public sealed class ExplainTests(TrainedModelFixture fixture, ITestOutputHelper output)
{
    private const int Images = 24;

    private static byte[] TestImages(int n, int from = 0) => TestData.Fashion.Test.Images.AsSpan(from * ImageShape.Pixels, n * ImageShape.Pixels).ToArray();

    [Fact]
    public void Copies_black_out_one_square_each_and_cover_every_pixel()
    {
        var image = Enumerable.Repeat((byte)200, ImageShape.Pixels).ToArray();
        var settings = new OcclusionSettings();
        var copies = Occlusion.Copies(image, settings);
        Assert.Equal(144, settings.Copies); // corners 0, 2, ..., 22 on each axis: the last touches the edge
        Assert.Equal(144 * ImageShape.Pixels, copies.Length);
        var covered = new bool[ImageShape.Pixels];
        for (int c = 0; c < 144; c++)
        {
            var zeros = Enumerable.Range(0, ImageShape.Pixels).Where(p => copies[c * ImageShape.Pixels + p] == 0).ToList();
            Assert.Equal(36, zeros.Count);
            foreach (int p in zeros) covered[p] = true;
        }
        Assert.All(covered, Assert.True);
        Assert.Equal([0, 5, 10, 15, 20, 23], new OcclusionSettings(5, 5).Offsets()); // a step that misses the edge gets a last square flush with it
    }

    [Fact]
    public void Randomising_the_weights_changes_the_maps()
    {
        var images = TestImages(Images);
        using var trained = new TorchClassifier(fixture.Directory);
        var before = Occlusion.Compute(trained, images);
        Assert.Equal(Occlusion.Compute(trained, TestImages(1))[0].Map, Occlusion.Compute(trained, TestImages(1))[0].Map); // deterministic
        var labels = before.Select(b => b.Label).ToList();
        var camBefore = GradCam.Compute(trained, images, labels)!;

        using var randomised = new TorchClassifier(fixture.Directory);
        Randomise(randomised.Net, trained.Info.Config.Model);
        var after = Occlusion.Compute(randomised, images, labels: labels);
        var camAfter = GradCam.Compute(randomised, images, labels)!;

        double occlusion = Enumerable.Range(0, Images).Average(i => Correlation(before[i].Map, after[i].Map));
        double gradCam = Enumerable.Range(0, Images).Average(i => Correlation(camBefore[i], camAfter[i]));
        output.WriteLine($"mean correlation, trained vs randomised weights, {Images} test images: occlusion {occlusion:F3}, Grad-CAM {gradCam:F3}");
        Assert.InRange(occlusion, -1, 0.5);
        Assert.InRange(gradCam, -1, 0.5);
        Assert.True(before.Average(b => b.Map.Max()) > 0.02, "the trained model's maps are all but empty");
    }

    [Fact]
    public void Hiding_the_most_salient_pixels_costs_the_class_more_than_hiding_random_ones()
    {
        const int k = 40, draws = 5;
        var images = TestImages(Images, from: 100);
        using var model = new TorchClassifier(fixture.Directory);
        var maps = Occlusion.Compute(model, images);
        var cams = GradCam.Compute(model, images, [.. maps.Select(m => m.Label)])!;
        var rng = new Random(3);
        var hidden = new List<byte>();
        const int rows = 2 + draws; // per image: by occlusion, by Grad-CAM, then the random draws
        for (int i = 0; i < Images; i++)
        {
            // Garment pixels only, for all: blacking out background changes nothing, whoever chooses it.
            var image = images.AsSpan(i * ImageShape.Pixels, ImageShape.Pixels).ToArray();
            var garment = Enumerable.Range(0, ImageShape.Pixels).Where(p => image[p] > 0).ToArray();
            Assert.True(garment.Length >= 2 * k, $"test image {100 + i} has {garment.Length} garment pixels");
            hidden.AddRange(Hide(image, garment.OrderByDescending(p => maps[i].Map[p]).ThenBy(p => p).Take(k)));
            hidden.AddRange(Hide(image, garment.OrderByDescending(p => cams[i][p]).ThenBy(p => p).Take(k)));
            for (int d = 0; d < draws; d++) hidden.AddRange(Hide(image, garment.OrderBy(_ => rng.Next()).Take(k)));
        }
        var probs = model.Probabilities([.. hidden]);
        double occlusion = 0, gradCam = 0, random = 0;
        for (int i = 0; i < Images; i++)
        {
            int label = maps[i].Label, row = i * rows;
            double p0 = maps[i].Probabilities[label];
            double Fall(int r) => p0 - probs[r * ClassNames.Count + label];
            occlusion += Fall(row) / Images;
            gradCam += Fall(row + 1) / Images;
            for (int d = 2; d < rows; d++) random += Fall(row + d) / draws / Images;
        }
        output.WriteLine($"hiding {k} garment pixels, mean fall in the top class's probability over {Images} test images: "
                         + $"most salient by occlusion {occlusion:F4}, by Grad-CAM {gradCam:F4}, random {random:F4} ({draws} draws each)");
        Assert.True(occlusion > 2 * random && occlusion > 0.02, $"occlusion's {occlusion:F4} against random {random:F4}");
        Assert.True(gradCam > random, $"Grad-CAM's {gradCam:F4} against random {random:F4}");
    }

    [Fact]
    public void Occlusion_gives_the_same_map_through_onnx_runtime()
    {
        var images = TestImages(4, from: 40);
        var onnx = Export.OnnxExporter.Export(fixture.Directory, Path.Combine(TestData.TempDir(), "m.onnx")).File;
        using var torch = Classifiers.Open(fixture.Directory); // calibrated, as the graph is
        using var ort = Classifiers.Open(onnx);
        var a = Explainer.Explain(torch, images, null);
        var b = Explainer.Explain(ort, images, null);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(a[i].Label, b[i].Label);
            Assert.All(a[i].Occlusion.Zip(b[i].Occlusion), p => Assert.Equal(p.First, p.Second, 1e-3));
            Assert.NotNull(a[i].GradCam);
            Assert.Null(b[i].GradCam); // ONNX Runtime shows no insides
        }
    }

    [Fact]
    public void Grad_cam_reads_the_resnet_and_the_speed_network_and_an_ensemble_averages_the_maps()
    {
        var images = TestImages(3, from: 7);
        var resnet = ExportSupport.RandomRunFolder(new ResNetConfig { Width = 4, Blocks = [1, 1] }, seed: 3, randomBatchNormAffine: true);
        var speed = ExportSupport.RandomRunFolder(new SpeedConfig { Widths = [8, 8], WhitenPatch = 2 }, seed: 2, randomBatchNormAffine: true);
        foreach (var run in new[] { resnet, speed })
        {
            using var model = new TorchClassifier(run);
            var before = model.Probabilities(images);
            var cams = GradCam.Compute(model, images, [0, 1, 2])!;
            Assert.All(cams, cam =>
            {
                Assert.Equal(ImageShape.Pixels, cam.Length);
                Assert.All(cam, v => Assert.InRange(v, 0, 1));
                Assert.True(cam.Max() is 0 or 1, $"{Path.GetFileName(run)}: largest value {cam.Max()}");
            });
            Assert.Contains(cams, cam => cam.Max() == 1);
            Assert.Equal(before, model.Probabilities(images)); // the hook is gone and nothing changed
        }
        // Two models: the map of their averaged probabilities is the average of their maps; no Grad-CAM.
        var both = Explainer.Explain([resnet, speed], images, null);
        Assert.All(both, e => Assert.Null(e.GradCam));
        var labels = both.Select(e => e.Label).ToList(); // the ensemble's top classes, explained in each member too
        using var a = new TorchClassifier(resnet);
        using var b = new TorchClassifier(speed);
        var one = Occlusion.Compute(a, images, labels: labels);
        var other = Occlusion.Compute(b, images, labels: labels);
        for (int i = 0; i < 3; i++)
            for (int p = 0; p < ImageShape.Pixels; p++) Assert.Equal((one[i].Map[p] + other[i].Map[p]) / 2, both[i].Occlusion[p], 1e-5);
    }

    [Fact]
    public void Explain_writes_one_png_per_photo_and_json_naming_them()
    {
        var dir = TestData.TempDir();
        var photos = new[] { Path.Combine(TestData.RepoRoot, "samples", "QuickStart", "sneaker.png"), Path.Combine(TestData.RepoRoot, "tests", "Fmnist.Tests", "Images", "gray.jpg") };
        var outDir = Path.Combine(dir, "why");
        var (code, stdout, _) = Run(["explain", "--model", fixture.Directory, .. photos, "--out", outDir, "--json", "--neighbours", "5"]);
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout); // the whole of stdout is one JSON object
        var explanations = doc.RootElement.GetProperty("explanations").EnumerateArray().ToList();
        Assert.Equal(2, explanations.Count);
        Assert.Equal([Path.Combine(outDir, "sneaker.why.png"), Path.Combine(outDir, "gray.why.png")],
            doc.RootElement.GetProperty("files").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(2, Directory.GetFiles(outDir).Length);
        foreach (var e in explanations)
        {
            using var png = SKBitmap.Decode(e.GetProperty("png").GetString());
            Assert.True(png.Width > 800 && png.Height > 400, $"{png.Width}x{png.Height}");
            var top = e.GetProperty("top").EnumerateArray().ToList();
            Assert.Equal(3, top.Count);
            Assert.Equal(top[0].GetProperty("class").GetString(), e.GetProperty("class").GetString());
            Assert.True(e.GetProperty("grad_cam").GetBoolean());
            var distances = e.GetProperty("neighbours").EnumerateArray().Select(n => n.GetProperty("distance").GetInt32()).ToList();
            Assert.Equal(5, distances.Count);
            Assert.Equal(distances.Order(), distances);
        }
        Assert.Equal("Sneaker", explanations[0].GetProperty("class").GetString());
        Assert.Equal(["x.why.png", "x-2.why.png", "y.why.png"], ExplainWorkflow.OutputNames(["a/x.png", "b/x.jpg", "y.png"]));
    }

    [Fact]
    public void Explain_of_a_bad_photo_is_a_one_line_error()
    {
        var dir = TestData.TempDir();
        var file = Path.Combine(dir, "notes.txt");
        File.WriteAllText(file, "hello");
        var (code, stdout, err) = Run("explain", "--model", fixture.Directory, file, "--out", Path.Combine(dir, "why"), "--json");
        Assert.Equal(1, code);
        using (var error = System.Text.Json.JsonDocument.Parse(stdout)) // under --json the failure is a JSON object too
            Assert.Equal($"{file}: not a PNG or JPEG image", error.RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal($"fmnist: {file}: not a PNG or JPEG image", err.Trim());
        Assert.False(Directory.Exists(Path.Combine(dir, "why")));
        var (badCode, _, badErr) = Run("explain", "--model", fixture.Directory, file, "--stride", "7");
        Assert.Equal(1, badCode);
        Assert.Equal("fmnist: --stride must be 1..6 (--patch), got 7: a larger step leaves pixels uncovered", badErr.Trim());
    }

    /// <summary>Every learned weight drawn afresh, as a new network of the same shape starts (BatchNorm statistics kept).</summary>
    private static void Randomise(nn.Module<Tensor, Tensor> net, ModelConfig config)
    {
        TorchRuntime.Initialize();
        manual_seed(11);
        using var fresh = Models.ModelFactory.Create(config);
        var initial = fresh.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var _ = no_grad();
        foreach (var (name, p) in net.named_parameters()) p.copy_(initial[name]);
    }

    private static IEnumerable<byte> Hide(byte[] image, IEnumerable<int> pixels)
    {
        var copy = (byte[])image.Clone();
        foreach (int p in pixels) copy[p] = 0;
        return copy;
    }

    private static double Correlation(float[] a, float[] b)
    {
        double ma = a.Average(), mb = b.Average(), ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            ab += (a[i] - ma) * (b[i] - mb);
            aa += (a[i] - ma) * (a[i] - ma);
            bb += (b[i] - mb) * (b[i] - mb);
        }
        return aa == 0 || bb == 0 ? 0 : ab / Math.Sqrt(aa * bb);
    }
}
