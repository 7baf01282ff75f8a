using Fmnist.Export;
using Fmnist.Inference;
using Fmnist.Models;
using Fmnist.Models.LeNet;

namespace Fmnist.Tests;

/// <summary>LeNet-5, the network added as the example of docs/architecture.md: its folder and one registry line
/// give the layer table, the options, ONNX export and Grad-CAM.</summary>
public class LeNetTests(Xunit.Abstractions.ITestOutputHelper log)
{
    [Fact]
    public void Lenet_has_lenet5s_parameter_count_and_its_own_option()
    {
        using var net = ModelFactory.Create(new LeNetConfig());
        Assert.Equal(61_706, ModelFactory.Parameters(net)); // 156 + 2,416 + 48,120 + 10,164 + 850
        var o = Training.ConfigOverrides.Of(("arch", "lenet"), ("channels", new[] { 4, 8 }));
        var c = o.Apply(Training.Presets.Get("seed"));
        Assert.Equal([4, 8], ((LeNetConfig)c.Model).Channels);
        Assert.Null(Training.Settings.Ignored(o, c));
        var wrong = Training.ConfigOverrides.Of(("channels", new[] { 4, 8 }));
        Assert.Equal("--channels does not apply: only the lenet network has it, not the cnn-lstm network",
            Training.Settings.Ignored(wrong, wrong.Apply(Training.Presets.Get("seed"))));
    }

    [Fact]
    public void Onnx_export_of_a_random_lenet_matches_TorchSharp_and_grad_cam_reads_its_second_conv()
    {
        var run = ExportSupport.RandomRunFolder(new LeNetConfig { Channels = [5, 7] }, seed: 4);
        var file = OnnxExporter.Export(run, Path.Combine(TestData.TempDir(), "lenet.onnx")).File;
        var images = ExportSupport.TestImages(100);
        using var torch = new TorchClassifier(run);
        using var onnx = new OnnxClassifier(file);
        log.WriteLine($"max |dp| ONNX Runtime vs TorchSharp {ExportSupport.AssertAgree(torch.Probabilities(images), onnx.Probabilities(images), 1e-4):E2}");
        Assert.Equal("lenet", onnx.Description.Config!.Model.Arch);
        var maps = Explanations.GradCam.Compute(torch, images[..(28 * 28 * 2)], [0, 1]);
        Assert.NotNull(maps);
        Assert.All(maps, m => Assert.Equal(28 * 28, m.Length));
    }

    [PythonFact]
    public void The_pytorch_mirror_builds_lenet_from_config_and_agrees_with_TorchSharp()
    {
        var run = ExportSupport.RandomRunFolder(new LeNetConfig { Channels = [5, 7] }, seed: 5);
        log.WriteLine($"max |dp| PyTorch vs TorchSharp {ExportSupport.AssertPythonAgrees(run):E2}");
    }
}
