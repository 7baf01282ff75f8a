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
    public const string ClassNames = "fmnist.class_names";        // JSON array, in label order
    public const string Normalization = "fmnist.normalization";   // JSON {"mean":…, "std":…}; already applied inside the graph
    public const string TrainingConfig = "fmnist.training_config"; // JSON, as in config.json
    public const string TestAccuracy = "fmnist.test_accuracy";     // invariant-culture number; absent when never scored
    public const string Version = "fmnist.version";
    public const string Parameters = "fmnist.parameters";
    public const string Input = "fmnist.input";
}

/// <summary>A run folder's best weights as a self-contained ONNX file (opset 17).</summary>
public static class OnnxExporter
{
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
    public static string FmnistVersion => typeof(Exports).Assembly.GetName().Version?.ToString() ?? "unknown";

    private static readonly JsonSerializerOptions Compact = new(JsonFiles.Options) { WriteIndented = false };

    /// <summary>One-line JSON in the project's style (metadata values).</summary>
    public static string Json<T>(T value) => JsonSerializer.Serialize(value, Compact);
}
