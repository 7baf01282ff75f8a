using System.Text.Json;
using Fmnist.Data;
using Fmnist.Export;
using Fmnist.Inference;
using Fmnist.Models.CnnLstm;
using Fmnist.Training;
using Google.Protobuf;

namespace Fmnist.Tests;

/// <summary>ONNX and PyTorch exports proven equal to the TorchSharp model they came from.</summary>
public class ExportTests(Xunit.Abstractions.ITestOutputHelper log)
{
    [Fact]
    public void Onnx_export_of_a_random_model_of_non_default_size_matches_TorchSharp()
    {
        var run = ExportSupport.NonDefaultRun;
        var file = Path.Combine(TestData.TempDir(), "random.onnx");
        var result = OnnxExporter.Export(run, file);
        Assert.Equal(file, result.File);
        var images = ExportSupport.TestImages(500);
        using var onnx = new OnnxClassifier(file);
        log.WriteLine($"max |dp| {ExportSupport.AssertAgree(ExportSupport.TorchProbabilities(run, images), onnx.Probabilities(images), 1e-4):E2}");
        // with flip TTA too: both runtimes mirror the same way
        using var torch = new TorchClassifier(run);
        ExportSupport.AssertAgree(torch.Probabilities(images, tta: Fmnist.Evaluation.TtaMode.Flip), onnx.Probabilities(images, tta: Fmnist.Evaluation.TtaMode.Flip), 1e-4);
        Assert.Equal(torch.Description.Parameters, onnx.Description.Parameters);
        Assert.Equal(128, ((CnnLstmConfig)onnx.Description.Config!.Model).Lstm);
        Assert.Equal(256, ((CnnLstmConfig)onnx.Description.Config!.Model).Dense);
    }

    [Fact]
    public void Onnx_file_has_the_documented_signature_and_metadata()
    {
        var run = ExportSupport.NonDefaultRun;
        var file = OnnxExporter.Export(run, Path.Combine(TestData.TempDir(), "m.onnx")).File;
        var model = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(file));
        Assert.Equal(17, model.OpsetImport.Single().Version);
        Assert.Equal("images", model.Graph.Input.Single().Name);
        Assert.Equal(["probabilities", "logits"], model.Graph.Output.Select(o => o.Name));
        Assert.Equal("batch", model.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam); // dynamic batch
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType == "Dropout");
        Assert.Contains(model.Graph.Node, n => n.OpType == "LSTM");
        var meta = model.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(ClassNames.All, JsonSerializer.Deserialize<string[]>(meta[OnnxMetadata.ClassNames]));
        var info = new RunFolder(run).ReadInfo();
        using var norm = JsonDocument.Parse(meta[OnnxMetadata.Normalization]);
        Assert.Equal(info.Normalization.Mean, norm.RootElement.GetProperty("mean").GetDouble());
        Assert.Equal(info.Normalization.Std, norm.RootElement.GetProperty("std").GetDouble());
        Assert.Equal(JsonFiles.Serialize(info.Config), JsonFiles.Serialize(JsonSerializer.Deserialize<TrainConfig>(meta[OnnxMetadata.TrainingConfig], JsonFiles.Options)));
        Assert.Equal(Exports.FmnistVersion, meta[OnnxMetadata.Version]);
        Assert.False(meta.ContainsKey(OnnxMetadata.TestAccuracy)); // this run was never scored
    }

    [Fact]
    public void Onnx_runs_any_batch_size_including_one()
    {
        var file = OnnxExporter.Export(ExportSupport.NonDefaultRun, Path.Combine(TestData.TempDir(), "m.onnx")).File;
        var images = ExportSupport.TestImages(300); // one full batch of 256 and a partial one
        using var onnx = new OnnxClassifier(file);
        var all = onnx.Probabilities(images);
        for (int i = 0; i < 3; i++)
        {
            var one = onnx.Probabilities(images.AsSpan(i * 784, 784).ToArray());
            ExportSupport.AssertAgree(all.AsSpan(i * 10, 10).ToArray(), one, 1e-6);
        }
    }

    [Fact]
    public void Lstm_gates_are_reordered_from_pytorch_ifgo_to_onnx_iofc()
    {
        // two rows per gate: i i f f g g o o -> i i o o f f g g
        float[] pytorch = [1, 1, 2, 2, 3, 3, 4, 4];
        Assert.Equal([1f, 1, 4, 4, 2, 2, 3, 3], OnnxGraphBuilder.ReorderGates(pytorch, 2));
    }

    [Fact]
    public void PyTorch_state_dict_round_trips_into_TorchSharp_exactly()
    {
        ExportSupport.AssertPyTorchRoundTrip(ExportSupport.NonDefaultRun);
    }

    [PythonFact]
    public void Onnx_checker_accepts_the_export()
    {
        ExportSupport.AssertOnnxCheckerAccepts(ExportSupport.NonDefaultRun);
    }

    [PythonFact]
    public void PyTorch_module_loads_the_state_dict_and_agrees_with_TorchSharp()
    {
        log.WriteLine($"max |dp| PyTorch vs TorchSharp {ExportSupport.AssertPythonAgrees(ExportSupport.NonDefaultRun):E2}");
    }
}

/// <summary>The same proof on a trained model (the shared fixture), on real test images.</summary>
[Collection("trained model")]
public class ExportTrainedModelTests(TrainedModelFixture trained, Xunit.Abstractions.ITestOutputHelper log)
{
    [Fact]
    [Trait("Category", "Slow")]
    public void Onnx_export_of_the_trained_model_matches_TorchSharp_and_scores_the_same()
    {
        var file = OnnxExporter.Export(trained.Directory, Path.Combine(TestData.TempDir(), "trained.onnx")).File;
        var test = TestData.Fashion.Test.Take(1000); // the images the fixture's test accuracy was measured on
        using var torch = Classifiers.Open(trained.Directory); // calibrated, as the exported graph is
        using var onnx = new OnnxClassifier(file);
        var expected = torch.Probabilities(test.Images);
        var actual = onnx.Probabilities(test.Images);
        log.WriteLine($"max |dp| {ExportSupport.AssertAgree(expected, actual, 1e-4):E2}");
        var predicted = Evaluation.Evaluator.ArgMax(actual);
        double accuracy = Enumerable.Range(0, test.Count).Count(i => predicted[i] == test.Labels[i]) / (double)test.Count;
        Assert.Equal(trained.Result.TestAccuracy, accuracy, 10);
        Assert.Equal(trained.Result.TestAccuracy, onnx.Description.TestAccuracy);
        Assert.True(accuracy > 0.7, $"trained fixture scored only {accuracy:P1}");
    }
}
