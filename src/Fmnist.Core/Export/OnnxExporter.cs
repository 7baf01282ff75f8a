using System.Globalization;
using System.Text.Json;
using Fmnist.Data;
using Fmnist.Models.CnnLstm;
using Fmnist.Training;
using Google.Protobuf;
using Onnx;

using static TorchSharp.torch;

namespace Fmnist.Export;

/// <summary>What an export wrote.</summary>
public sealed record ExportResult(string ModelDir, string Format, string File, long Bytes, long Parameters, double? TestAccuracy);

/// <summary>The keys fmnist writes into an ONNX file's metadata_props (read back by OnnxClassifier).</summary>
public static class OnnxMetadata
{
    /// <summary>JSON array of the class names, in label order.</summary>
    public const string ClassNames = "fmnist.class_names";
    /// <summary>JSON {"mean":…, "std":…}; already applied inside the graph.</summary>
    public const string Normalization = "fmnist.normalization";
    /// <summary>JSON, as in config.json.</summary>
    public const string TrainingConfig = "fmnist.training_config";
    /// <summary>Invariant-culture number; absent when never scored.</summary>
    public const string TestAccuracy = "fmnist.test_accuracy";
    /// <summary>The fmnist version that exported the file.</summary>
    public const string Version = "fmnist.version";
    /// <summary>The number of trainable parameters.</summary>
    public const string Parameters = "fmnist.parameters";
    /// <summary>What the input is (raw pixel values 0-255, shape [N,1,28,28]).</summary>
    public const string Input = "fmnist.input";
}

/// <summary>A run folder's best weights as a self-contained ONNX file (opset 17).</summary>
public static class OnnxExporter
{
    /// <summary>Writes the best weights of the run in <paramref name="modelDir"/> as ONNX to <paramref name="outPath"/> (default: model.onnx in the run folder).</summary>
    public static ExportResult Export(string modelDir, string? outPath = null)
    {
        var folder = new RunFolder(modelDir);
        var path = AtomicFile.CheckTarget(outPath ?? Path.Combine(folder.Directory, "model.onnx"), "model.onnx");
        var (net, info) = folder.LoadBest();
        using (net)
        {
            var test = Experiments.TrainingWorkflow.ReadResult(folder.Directory)?.TestAccuracy;
            var model = Build(net, info, test);
            var bytes = model.ToByteArray();
            AtomicFile.WriteAllBytes(path, bytes);
            return new ExportResult(modelDir, "onnx", path, bytes.Length, Models.ModelFactory.Parameters(net), test);
        }
    }

    /// <summary>The ONNX model of a loaded network: normalization, the layers, softmax, and the metadata (<see cref="OnnxMetadata"/>).</summary>
    /// <param name="net">The network, in eval mode.</param>
    /// <param name="info">Its run's config and normalization.</param>
    /// <param name="testAccuracy">Stored in the metadata when known.</param>
    public static ModelProto Build(nn.Module<Tensor, Tensor> net, RunInfo info, double? testAccuracy)
    {
        var g = new OnnxGraphBuilder();
        switch (net)
        {
            case CnnLstmNet cnnLstm:
                CnnLstmOnnx.Emit(g, cnnLstm, info.Normalization);
                break;
            case Models.ResNet.ResNetNet resNet:
                ResNetOnnx.Emit(g, resNet, info.Config.Model, info.Normalization);
                break;
            default:
                throw new FmnistException($"ONNX export of the {info.Config.Model.Arch.ToString().ToLowerInvariant()} architecture is not supported yet");
        }
        var version = Exports.FmnistVersion;
        var metadata = new Dictionary<string, string>
        {
            [OnnxMetadata.ClassNames] = Exports.Json(ClassNames.All),
            [OnnxMetadata.Normalization] = Exports.Json(info.Normalization),
            [OnnxMetadata.TrainingConfig] = Exports.Json(info.Config),
            [OnnxMetadata.Version] = version,
            [OnnxMetadata.Parameters] = Models.ModelFactory.Parameters(net).ToString(CultureInfo.InvariantCulture),
            [OnnxMetadata.Input] = "images: float32 [batch,1,28,28], raw pixel values 0-255, light garment on black (Fashion-MNIST style); normalization is inside the graph",
        };
        if (testAccuracy is { } acc) metadata[OnnxMetadata.TestAccuracy] = acc.ToString("R", CultureInfo.InvariantCulture);
        return g.Build(metadata, version);
    }
}

/// <summary>Checks and facts shared by the export formats.</summary>
public static class Exports
{
    /// <summary>The library's assembly version, written into exported files.</summary>
    public static string FmnistVersion => typeof(Exports).Assembly.GetName().Version?.ToString() ?? "unknown";

    private static readonly JsonSerializerOptions Compact = new(JsonFiles.Options) { WriteIndented = false };

    /// <summary>One-line JSON in the project's style (metadata values).</summary>
    public static string Json<T>(T value) => JsonSerializer.Serialize(value, Compact);
}
