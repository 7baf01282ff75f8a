using System.Globalization;
using System.Text.Json;
using Fmnist.Data;
using Fmnist.Training;
using Google.Protobuf;
using Onnx;

using static TorchSharp.torch;

namespace Fmnist.Export;

/// <summary>What an export wrote.</summary>
public sealed record ExportResult(string ModelDir, string Format, string File, long Bytes, long Parameters, double? TestAccuracy);

/// <summary>The keys fmnist writes into an ONNX file's metadata_props (read back by OnnxClassifier).</summary>
internal static class OnnxMetadata
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
    /// <summary>The test-time augmentation inside the graph (see Evaluation.Tta.Names).</summary>
    public const string Tta = "fmnist.tta";
    /// <summary>How many networks the graph averages (1 unless it is an ensemble).</summary>
    public const string Members = "fmnist.members";
    /// <summary>JSON, as in trust.json; its temperature is already applied inside the graph.</summary>
    public const string Trust = "fmnist.trust";
}

/// <summary>A run folder's best weights as a self-contained ONNX file (opset 17).</summary>
public static class OnnxExporter
{
    /// <summary>Writes the best weights of the run in <paramref name="modelDir"/> (or of every member of an
    /// ensemble folder, averaged in one graph) as ONNX to <paramref name="outPath"/> (default: model.onnx in the folder).</summary>
    /// <param name="modelDir">A run folder or an ensemble folder.</param>
    /// <param name="outPath">The .onnx file to write.</param>
    /// <param name="tta">Test-time views computed inside the graph (<see cref="Evaluation.TtaMode"/>).</param>
    public static ExportResult Export(string modelDir, string? outPath = null, Evaluation.TtaMode tta = Evaluation.TtaMode.None)
    {
        var path = AtomicFile.CheckTarget(outPath ?? Path.Combine(Path.GetFullPath(modelDir), "model.onnx"), "model.onnx");
        bool ensemble = Ensembles.EnsembleFolder.IsEnsemble(modelDir);
        var members = new List<(nn.Module<Tensor, Tensor> Net, RunInfo Info)>();
        try
        {
            foreach (var dir in Inference.Classifiers.RunFolders(modelDir)) members.Add(new RunFolder(dir).LoadBest());
            var test = ensemble ? new Ensembles.EnsembleFolder(modelDir).ReadResult()?.TestAccuracy : Experiments.TrainingWorkflow.ReadResult(modelDir)?.TestAccuracy;
            // a graph with views inside has another accuracy than the one measured without them
            var model = Build(members, tta == Evaluation.TtaMode.None ? test : null, tta, Fmnist.Trust.TrustInfo.Read(modelDir));
            var bytes = model.ToByteArray();
            AtomicFile.WriteAllBytes(path, bytes);
            return new ExportResult(modelDir, "onnx", path, bytes.Length, members.Sum(m => Models.ModelFactory.Parameters(m.Net)), test);
        }
        finally
        {
            foreach (var (net, _) in members) net.Dispose();
        }
    }

    /// <summary>The ONNX model of a loaded network: normalization, the layers, softmax, and the metadata (<see cref="OnnxMetadata"/>).</summary>
    /// <param name="net">The network, in eval mode.</param>
    /// <param name="info">Its run's config and normalization.</param>
    /// <param name="testAccuracy">Stored in the metadata when known.</param>
    /// <param name="tta">Test-time augmentation inside the graph: every view of the batch goes through the network
    /// and the probabilities are averaged.</param>
    internal static ModelProto Build(nn.Module<Tensor, Tensor> net, RunInfo info, double? testAccuracy, Evaluation.TtaMode tta = Evaluation.TtaMode.None) =>
        Build([(net, info)], testAccuracy, tta);

    /// <summary>
    /// One graph for one or several networks (an ensemble: their probabilities averaged) and optional
    /// test-time views: raw pixels in; the views concatenated along the batch axis (B -> V*B); each member's
    /// normalization and layers (its weights prefixed m1., m2., ... when there are several); softmax; the mean
    /// over views and members. Outputs "probabilities" and "logits" (for a single network without views its
    /// logits, otherwise the log of the averaged probabilities, whose softmax gives them back).
    /// </summary>
    /// <param name="members">The networks and their runs' config and normalization.</param>
    /// <param name="testAccuracy">Stored in the metadata when known.</param>
    /// <param name="tta">Test-time views computed inside the graph.</param>
    /// <param name="trust">The model's trust.json: its temperature divides the output logits inside the graph.</param>
    internal static ModelProto Build(IReadOnlyList<(nn.Module<Tensor, Tensor> Net, RunInfo Info)> members, double? testAccuracy,
        Evaluation.TtaMode tta = Evaluation.TtaMode.None, Fmnist.Trust.TrustInfo? trust = null)
    {
        if (members.Count == 0) throw new ArgumentException("no network to export", nameof(members));
        var g = new OnnxGraphBuilder();
        const int side = ImageShape.Side;
        var images = g.Input("images", [null, 1, side, side], ["batch", "channels", "height", "width"]);
        var views = Evaluation.Tta.Views(tta);
        // (B,1,28,28) -> (V*B,1,28,28): each view is computed from the raw pixels, whose background is 0
        var x = g.Concat([.. views.Select(v =>
        {
            var view = v.Flip ? g.FlipWidth(images) : images;
            return v.Dx == 0 && v.Dy == 0 ? view : g.Shift(view, v.Dx, v.Dy, side, side);
        })], 0);
        var probabilities = new List<string>();
        string? singleLogits = null;
        for (int m = 0; m < members.Count; m++)
        {
            var (net, info) = members[m];
            g.Prefix = members.Count > 1 ? $"m{m + 1}." : "";
            var norm = info.Normalization;
            var input = g.Node("Div", [x, g.Scalar("pixel_scale", 255f)]);
            input = g.Node("Sub", [input, g.Scalar("norm_mean", (float)norm.Mean)]);
            input = g.Node("Div", [input, g.Scalar("norm_std", (float)norm.Std)]);
            var logits = Models.Networks.Of(info.Config.Model).OnnxBody(g, net, info.Config.Model, input);
            singleLogits = logits;
            var p = g.Softmax(logits);
            // (V*B,10) -> (V,B,10) -> (B,10)
            if (views.Count > 1) p = g.Mean(g.Reshape(p, views.Count, -1, 10), 0);
            probabilities.Add(p);
        }
        g.Prefix = "";
        var mean = probabilities.Count == 1 ? probabilities[0]
            : g.Node("Mul", [g.Node("Sum", [.. probabilities]), g.Scalar("member_weight", 1f / probabilities.Count)]);
        var outLogits = members.Count == 1 && views.Count == 1 ? singleLogits! : g.Node("Log", [mean]);
        if (trust is { Temperature: not 1.0 } calibrated)
        {
            // Temperature scaling: logits / T, and the probabilities their softmax (Trust.Calibration).
            outLogits = g.Node("Div", [outLogits, g.Scalar("temperature", (float)calibrated.Temperature)]);
            mean = g.Softmax(outLogits);
        }
        g.Output(mean, "probabilities", [null, 10], ["batch", "classes"]);
        g.Output(outLogits, "logits", [null, 10], ["batch", "classes"]);

        var (_, first) = members[0];
        var version = Exports.FmnistVersion;
        var metadata = new Dictionary<string, string>
        {
            [OnnxMetadata.ClassNames] = Exports.Json(ClassNames.All),
            [OnnxMetadata.Normalization] = Exports.Json(first.Normalization),
            [OnnxMetadata.TrainingConfig] = Exports.Json(first.Config),
            [OnnxMetadata.Version] = version,
            [OnnxMetadata.Parameters] = members.Sum(m => Models.ModelFactory.Parameters(m.Net)).ToString(CultureInfo.InvariantCulture),
            [OnnxMetadata.Input] = "images: float32 [batch,1,28,28], raw pixel values 0-255, light garment on black (Fashion-MNIST style); normalization is inside the graph",
            [OnnxMetadata.Tta] = Evaluation.Tta.Name(tta),
            [OnnxMetadata.Members] = members.Count.ToString(CultureInfo.InvariantCulture),
        };
        if (trust is not null) metadata[OnnxMetadata.Trust] = Exports.Json(trust);
        if (testAccuracy is { } acc) metadata[OnnxMetadata.TestAccuracy] = acc.ToString("R", CultureInfo.InvariantCulture);
        return g.Build(metadata, version);
    }
}

/// <summary>Checks and facts shared by the export formats.</summary>
internal static class Exports
{
    /// <summary>The library's assembly version, written into exported files.</summary>
    public static string FmnistVersion => typeof(Exports).Assembly.GetName().Version?.ToString() ?? "unknown";

    private static readonly JsonSerializerOptions Compact = new(JsonFiles.Options) { WriteIndented = false };

    /// <summary>One-line JSON in the project's style (metadata values).</summary>
    public static string Json<T>(T value) => JsonSerializer.Serialize(value, Compact);
}
