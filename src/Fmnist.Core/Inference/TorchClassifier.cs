using Fmnist.Evaluation;
using static TorchSharp.torch;
using Fmnist.Training;

namespace Fmnist.Inference;

/// <summary>A run folder's best weights, run by TorchSharp (libtorch).</summary>
internal sealed class TorchClassifier : IClassifier
{
    public nn.Module<Tensor, Tensor> Net { get; }
    public RunInfo Info { get; }
    public ModelDescription Description { get; }

    public TorchClassifier(string runDir)
    {
        var folder = new RunFolder(runDir);
        (Net, Info) = folder.LoadBest();
        double? test = Experiments.TrainingWorkflow.ReadResult(runDir)?.TestAccuracy;
        Description = new ModelDescription(runDir, "torchsharp", Models.ModelFactory.Parameters(Net), Info.Config, test);
    }

    public float[] Probabilities(byte[] images, Evaluation.TtaMode tta = Evaluation.TtaMode.None) =>
        Evaluator.Probabilities(Net, images, Info.Normalization, tta);

    public void Dispose() => Net.Dispose();
}

/// <summary>Opens whatever the user named as a model: a run folder (TorchSharp) or an exported .onnx file.</summary>
public static class Classifiers
{
    internal static bool IsOnnxFile(string path) => path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);

    /// <summary>Where a model's reports go by default: its run folder, or the folder an .onnx file lies in.</summary>
    internal static string DefaultOutputFolder(string path) =>
        IsOnnxFile(path) ? Path.GetDirectoryName(Path.GetFullPath(path))! : path;

    /// <summary>The model at <paramref name="path"/>, its probabilities calibrated by its trust.json's temperature
    /// when it has one (an ONNX file carries it inside the graph).</summary>
    public static IClassifier Open(string path)
    {
        if (IsOnnxFile(path))
        {
            // The temperature is inside the graph; the top map, which ONNX Runtime alone does not apply, is in its metadata.
            var onnx = new OnnxClassifier(path);
            return CalibratedClassifier.Wrap(onnx, 1, OnnxClassifier.ReadTrust(path, onnx.Metadata)?.TopMap);
        }
        var info = Fmnist.Trust.TrustInfo.Read(path);
        return CalibratedClassifier.Wrap(OpenUncalibrated(path), info?.Temperature ?? 1, info?.TopMap);
    }

    /// <summary>The model as trained, no temperature applied (for fitting one, or to score calibration): an ONNX file's
    /// in-graph temperature is undone (softmax(log p * T) gives the graph's probabilities before it).</summary>
    public static IClassifier OpenUncalibrated(string path)
    {
        if (IsOnnxFile(path))
        {
            var onnx = new OnnxClassifier(path);
            return OnnxClassifier.ReadTrust(path, onnx.Metadata) is { } inGraph ? CalibratedClassifier.Wrap(onnx, 1 / inGraph.Temperature) : onnx;
        }
        if (Ensembles.EnsembleFolder.IsEnsemble(path)) return new Ensembles.EnsembleClassifier(path);
        return new TorchClassifier(path);
    }

    /// <summary>The model under its calibration and test-time views: the TorchSharp run, ONNX file or ensemble itself.</summary>
    internal static IClassifier Unwrapped(IClassifier model)
    {
        while (model is TtaClassifier or CalibratedClassifier)
            model = model is TtaClassifier tta ? tta.Inner : ((CalibratedClassifier)model).Inner;
        return model;
    }

    /// <summary>The trust.json of a run or ensemble folder, or the one inside an .onnx file; null when never calibrated.</summary>
    internal static Fmnist.Trust.TrustInfo? Trust(string path, IClassifier? opened = null)
    {
        if (!IsOnnxFile(path)) return Fmnist.Trust.TrustInfo.Read(path);
        var onnx = opened is null ? null : Unwrapped(opened) as OnnxClassifier;
        if (onnx is null) { using var file = new OnnxClassifier(path); return OnnxClassifier.ReadTrust(path, file.Metadata); }
        return OnnxClassifier.ReadTrust(path, onnx.Metadata);
    }

    /// <summary>The run folders behind a model path: an ensemble's members, or the folder itself.</summary>
    internal static IReadOnlyList<string> RunFolders(string path) =>
        !IsOnnxFile(path) && Ensembles.EnsembleFolder.IsEnsemble(path) ? new Ensembles.EnsembleFolder(path).MemberDirs() : [path];

    /// <summary>Fails on the first unusable model before any is loaded (cheap checks only).</summary>
    internal static void Check(string path)
    {
        if (IsOnnxFile(path)) OnnxClassifier.CheckFile(path);
        else foreach (var dir in RunFolders(path)) new RunFolder(dir).ReadInfo();
    }
}
