using System.Globalization;
using Fmnist.Data;
using Fmnist.Export;
using Fmnist.Training;
using Microsoft.ML.OnnxRuntime;

namespace Fmnist.Inference;

/// <summary>
/// An ONNX file run by ONNX Runtime (CPU); no libtorch needed. Takes any model with one float input
/// [batch,1,28,28] of raw pixels (0-255) and a [batch,10] output named <c>probabilities</c> (or a
/// single output), as <c>fmnist export</c> writes; config and test accuracy come from its metadata.
/// </summary>
internal sealed class OnnxClassifier : IClassifier
{
    private const int Batch = 256, Pixels = ImageShape.Pixels;

    private readonly InferenceSession session;
    private readonly string inputName, outputName;
    private readonly RunOptions runOptions = new();

    public ModelDescription Description { get; }

    /// <summary>The metadata properties stored in the file (fmnist.* keys among them).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The trust.json the exporter stored in the metadata (<see cref="OnnxMetadata.Trust"/>), or null.</summary>
    public static Fmnist.Trust.TrustInfo? ReadTrust(string path, IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue(OnnxMetadata.Trust, out var json)) return null;
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<Fmnist.Trust.TrustInfo>(json, JsonFiles.Options)
                   ?? throw new FmnistException($"{path}: metadata {OnnxMetadata.Trust} is empty");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new FmnistException($"{path}: metadata {OnnxMetadata.Trust} is not valid JSON ({FirstLine(e.Message)})");
        }
    }

    /// <summary>The cheap checks, before any file is read: the path names a file that exists.</summary>
    public static void CheckFile(string path)
    {
        if (Directory.Exists(path)) throw new FmnistException($"{path}: is a directory, not an .onnx file");
        if (!File.Exists(path)) throw new FmnistException($"{path}: model file not found");
    }

    public OnnxClassifier(string path, int? threads = null, bool spinning = false,
        GraphOptimizationLevel optimization = GraphOptimizationLevel.ORT_ENABLE_ALL)
    {
        CheckFile(path);
        var bytes = File.ReadAllBytes(path);
        CheckProtobuf(path, bytes);
        using var options = SessionOptionsFor(threads, spinning, optimization);
        try
        {
            session = new InferenceSession(bytes, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new FmnistException($"{path}: ONNX Runtime cannot load this model ({FirstLine(e.Message)})");
        }
        try
        {
            (inputName, outputName) = CheckSignature(path, session);
            Metadata = session.ModelMetadata.CustomMetadataMap;
            Description = Describe(path, Metadata);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Intra-op threads = cores (2 here), one inter-op thread, every graph optimization. Idle threads do not
    /// spin: on a shared machine spinning workers slowed everyone (see TorchRuntime's OMP_WAIT_POLICY).
    /// </summary>
    public static SessionOptions SessionOptionsFor(int? threads = null, bool spinning = false,
        GraphOptimizationLevel optimization = GraphOptimizationLevel.ORT_ENABLE_ALL)
    {
        var o = new SessionOptions
        {
            GraphOptimizationLevel = optimization,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = threads ?? Environment.ProcessorCount,
            InterOpNumThreads = 1,
        };
        o.AddSessionConfigEntry("session.intra_op.allow_spinning", spinning ? "1" : "0");
        return o;
    }

    public float[] Probabilities(byte[] images, Evaluation.TtaMode tta = Evaluation.TtaMode.None)
    {
        if (images.Length % Pixels != 0) throw new ArgumentException($"{images.Length} bytes is not a whole number of 28x28 images", nameof(images));
        int n = images.Length / Pixels;
        var probs = new float[n * ClassNames.Count];
        var input = new float[Math.Min(n, Batch) * Pixels];
        var views = Evaluation.Tta.Views(tta);
        var view = views.Count > 1 ? new float[input.Length] : null;
        var viewProbs = views.Count > 1 ? new float[Math.Min(n, Batch) * ClassNames.Count] : null;
        for (int start = 0; start < n; start += Batch)
        {
            int count = Math.Min(Batch, n - start);
            var x = input.AsSpan(0, count * Pixels);
            for (int i = 0; i < x.Length; i++) x[i] = images[start * Pixels + i];
            var target = probs.AsSpan(start * ClassNames.Count, count * ClassNames.Count);
            Run(input, count, target);
            if (view is null) continue;
            var extra = viewProbs.AsSpan(0, target.Length);
            foreach (var v in views.Skip(1))
            {
                Evaluation.Tta.Apply(input.AsSpan(0, count * Pixels), view.AsSpan(0, count * Pixels), v);
                Run(view, count, extra);
                for (int i = 0; i < target.Length; i++) target[i] += extra[i];
            }
            for (int i = 0; i < target.Length; i++) target[i] /= views.Count;
        }
        return probs;
    }

    /// <summary>Runs <paramref name="count"/> images (raw pixel floats at the start of <paramref name="input"/>); probabilities into <paramref name="into"/>.</summary>
    private void Run(float[] input, int count, Span<float> into)
    {
        using var x = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input.AsMemory(0, count * Pixels), [count, 1, ImageShape.Side, ImageShape.Side]);
        using var results = session.Run(runOptions, [inputName], [x], [outputName]);
        var p = results[0].GetTensorDataAsSpan<float>();
        if (p.Length != into.Length) throw new FmnistException($"{Description.Source}: output has {p.Length} values for {count} images; expected {into.Length}");
        p.CopyTo(into);
    }

    /// <summary>Tells a cut-short file from one that is not ONNX at all, before ONNX Runtime's generic "failed to load".</summary>
    private static void CheckProtobuf(string path, byte[] bytes)
    {
        if (bytes.Length == 0) throw new FmnistException($"{path}: empty file, not an ONNX model");
        Onnx.ModelProto model;
        try
        {
            model = Onnx.ModelProto.Parser.ParseFrom(bytes);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e) when (e.Message.Contains("truncated", StringComparison.OrdinalIgnoreCase))
        {
            throw new FmnistException($"{path}: truncated ONNX file ({bytes.Length:N0} bytes; it ends in the middle of the model): export it again");
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            throw new FmnistException($"{path}: not an ONNX file (not a valid ONNX protobuf message)");
        }
        if (model.Graph is null || model.Graph.Node.Count == 0)
            throw new FmnistException($"{path}: not an ONNX model (no graph in the file)");
    }

    private static (string Input, string Output) CheckSignature(string path, InferenceSession s)
    {
        if (s.InputMetadata.Count != 1)
            throw new FmnistException($"{path}: model has {s.InputMetadata.Count} inputs; expected one, images [batch,1,28,28]");
        var (inName, input) = s.InputMetadata.First();
        var dims = input.IsTensor ? input.Dimensions : [];
        if (!input.IsTensor || input.ElementType != typeof(float) || dims.Length != 4 || dims[1] != 1 || dims[2] != ImageShape.Side || dims[3] != ImageShape.Side)
            throw new FmnistException($"{path}: input '{inName}' is {Shape(input)}; expected float [batch,1,28,28]");
        int outputs = s.OutputMetadata.Count;
        if (outputs is < 1 or > 2)
            throw new FmnistException($"{path}: model has {outputs} outputs; expected probabilities [batch,10] (optionally logits too)");
        var (outName, output) = s.OutputMetadata.ContainsKey("probabilities") ? s.OutputMetadata.First(o => o.Key == "probabilities")
            : outputs == 1 ? s.OutputMetadata.First()
            : throw new FmnistException($"{path}: no output named 'probabilities' among {string.Join(", ", s.OutputMetadata.Keys)}");
        var od = output.IsTensor ? output.Dimensions : [];
        if (!output.IsTensor || output.ElementType != typeof(float) || od.Length != 2 || od[1] != ClassNames.Count)
            throw new FmnistException($"{path}: output '{outName}' is {Shape(output)}; expected float [batch,10]");
        return (inName, outName);
    }

    private static ModelDescription Describe(string path, IReadOnlyDictionary<string, string> meta)
    {
        TrainConfig? config = null;
        if (meta.TryGetValue(OnnxMetadata.TrainingConfig, out var json))
        {
            try
            {
                config = System.Text.Json.JsonSerializer.Deserialize<TrainConfig>(json, JsonFiles.Options);
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new FmnistException($"{path}: metadata {OnnxMetadata.TrainingConfig} is not valid JSON ({FirstLine(e.Message)})");
            }
        }
        double? test = meta.TryGetValue(OnnxMetadata.TestAccuracy, out var t) && double.TryParse(t, CultureInfo.InvariantCulture, out var v) ? v : null;
        long parameters = meta.TryGetValue(OnnxMetadata.Parameters, out var pc) && long.TryParse(pc, CultureInfo.InvariantCulture, out var n) ? n : 0;
        return new ModelDescription(path, "onnxruntime", parameters, config, test);
    }

    private static string Shape(NodeMetadata m) =>
        m.IsTensor ? $"{(m.ElementType == typeof(float) ? "float" : m.ElementType.Name.ToLowerInvariant())} [{string.Join(",", m.Dimensions.Select(d => d < 0 ? "batch" : d.ToString(CultureInfo.InvariantCulture)))}]" : m.OnnxValueType.ToString();

    private static string FirstLine(string message) => message.ReplaceLineEndings(" ").Trim();

    public void Dispose()
    {
        runOptions.Dispose();
        session.Dispose();
    }
}
