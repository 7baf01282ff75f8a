using Fmnist.Models;
using Fmnist.Models.CnnLstm;
using Fmnist.Models.ResNet;
using Fmnist.Models.Speed;
using System.Text.Json;
using Fmnist.Export;
using Fmnist.Inference;
using Fmnist.Training;

namespace Fmnist.Tests;

/// <summary>ONNX and PyTorch exports of the ResNet proven equal to the TorchSharp model they came from.</summary>
public class ResNetExportTests(Xunit.Abstractions.ITestOutputHelper log)
{
    /// <summary>Non-default width and depth, an identity block (s1b1, s2b2) and a strided shortcut block (s2b1);
    /// random BatchNorm scales and shifts and moved running statistics, so no BatchNorm is the identity.</summary>
    private static readonly Lazy<string> SmallRandom = new(() => ExportSupport.RandomRunFolder(
        new ResNetConfig { Width = 8, Blocks = [1, 2] }, seed: 11, randomBatchNormAffine: true));

    private static string Run => SmallRandom.Value;

    [Fact]
    public void Onnx_export_of_a_random_resnet_of_non_default_size_matches_TorchSharp()
    {
        var file = OnnxExporter.Export(Run, Path.Combine(TestData.TempDir(), "resnet.onnx")).File;
        var images = ExportSupport.TestImages(200);
        using var torch = new TorchClassifier(Run);
        using var onnx = new OnnxClassifier(file);
        log.WriteLine($"max |dp| ONNX Runtime vs TorchSharp {ExportSupport.AssertAgree(torch.Probabilities(images), onnx.Probabilities(images), 1e-4):E2}");
        ExportSupport.AssertAgree(torch.Probabilities(images, tta: Fmnist.Evaluation.TtaMode.Flip), onnx.Probabilities(images, tta: Fmnist.Evaluation.TtaMode.Flip), 1e-4);
        Assert.Equal(torch.Description.Parameters, onnx.Description.Parameters);
        var model = (ResNetConfig)onnx.Description.Config!.Model;
        Assert.Equal(("resnet", 8), (model.Arch, model.Width));
        Assert.Equal([1, 2], model.Blocks);
    }

    [Fact]
    public void Onnx_export_handles_odd_feature_map_sides_and_four_stages()
    {
        // 28 -> 14 -> 7 -> 4 -> 2: the strided convs on 7 and 4 pixels must round as PyTorch does
        var run = ExportSupport.RandomRunFolder(new ResNetConfig { Width = 4, Blocks = [1, 1, 1, 1] }, seed: 3, randomBatchNormAffine: true);
        var file = OnnxExporter.Export(run, Path.Combine(TestData.TempDir(), "deep.onnx")).File;
        var images = ExportSupport.TestImages(100);
        using var onnx = new OnnxClassifier(file);
        log.WriteLine($"max |dp| {ExportSupport.AssertAgree(ExportSupport.TorchProbabilities(run, images), onnx.Probabilities(images), 1e-4):E2}");
    }

    [Fact]
    public void Resnet_graph_folds_every_batchnorm_into_its_conv()
    {
        var file = OnnxExporter.Export(Run, Path.Combine(TestData.TempDir(), "m.onnx")).File;
        var model = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(file));
        var ops = model.Graph.Node.Select(n => n.OpType).ToList();
        Assert.DoesNotContain("BatchNormalization", ops);
        Assert.Equal(1 + 3 * 2 + 1, ops.Count(o => o == "Conv")); // stem, 3 blocks of 2, one shortcut
        Assert.Equal(3, ops.Count(o => o == "Add"));
        Assert.Single(ops, "GlobalAveragePool");
        Assert.Equal("images", model.Graph.Input.Single().Name);
        Assert.Equal(["probabilities", "logits"], model.Graph.Output.Select(o => o.Name));
        Assert.Equal("batch", model.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Contains(model.MetadataProps, p => p.Key == OnnxMetadata.TrainingConfig && p.Value.Contains("\"resnet\""));
    }

    [Fact]
    public void BatchNorm_folding_matches_the_formula_on_known_values()
    {
        // two output channels, one input channel, 1x1 kernels
        var conv = new Weights([2f, 3f], [2, 1, 1, 1]);
        var (w, b) = OnnxGraphBuilder.FoldBatchNorm(conv, new([1f, 0.5f], [2]), new([0f, 1f], [2]), new([1f, -2f], [2]), new([4f, 0.25f], [2]), 0);
        // s = scale/sqrt(var) = [0.5, 1]; W' = W*s; b' = bias - mean*s
        Assert.Equal([1f, 3f], w.Data);
        Assert.Equal([2L, 1, 1, 1], w.Shape);
        Assert.Equal([-0.5f, 3f], b.Data);
    }

    [Fact]
    public void PyTorch_state_dict_of_a_resnet_round_trips_into_TorchSharp_exactly()
    {
        ExportSupport.AssertPyTorchRoundTrip(Run);
    }

    [PythonFact]
    public void Onnx_checker_accepts_the_resnet_export()
    {
        ExportSupport.AssertOnnxCheckerAccepts(Run);
    }

    [PythonFact]
    public void PyTorch_module_builds_the_resnet_from_config_and_agrees_with_TorchSharp()
    {
        log.WriteLine($"max |dp| PyTorch vs TorchSharp {ExportSupport.AssertPythonAgrees(Run):E2}");
    }
}
