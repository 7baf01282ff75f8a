using Fmnist.Models.CnnLstm;
using Fmnist.Training;
using TorchSharp.PyBridge;

namespace Fmnist.Export;

/// <summary>
/// A run folder's best weights as a PyTorch state_dict file (<c>torch.load</c> reads it; written by
/// TorchSharp.PyBridge). Keys are the module names of <c>CnnLstmNet</c> or
/// <c>ResNetNet</c>, which <c>interop/python/fmnist_model.py</c> mirrors; it reads the
/// architecture (and the ResNet's width and blocks) and the normalization from the run's config.json.
/// </summary>
public static class PyTorchExporter
{
    /// <summary>Writes the best weights of the run in <paramref name="modelDir"/> as a PyTorch state_dict to <paramref name="outPath"/> (default: model.pth in the run folder).</summary>
    public static ExportResult Export(string modelDir, string? outPath = null)
    {
        if (Ensembles.EnsembleFolder.IsEnsemble(modelDir))
            throw new FmnistException($"{modelDir}: an ensemble; export its members one by one ({string.Join(", ", new Ensembles.EnsembleFolder(modelDir).ReadInfo().Members)}) or export it as one ONNX graph (--format onnx)");
        var folder = new RunFolder(modelDir);
        var path = AtomicFile.CheckTarget(outPath ?? Path.Combine(folder.Directory, "model.pth"), "model.pth");
        var (net, _) = folder.LoadBest();
        using (net)
        {
            AtomicFile.Write(path, tmp => net.save_py(tmp));
            return new ExportResult(modelDir, "pytorch", path, new FileInfo(path).Length, Models.ModelFactory.Parameters(net),
                Experiments.TrainingWorkflow.ReadResult(folder.Directory)?.TestAccuracy);
        }
    }

    /// <summary>Loads a state_dict file written by <see cref="Export"/> (or by PyTorch) into a network of the given sizes, in eval mode.</summary>
    public static TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> Load(string path, Models.ModelConfig config)
    {
        if (!File.Exists(path)) throw new FmnistException($"{path}: file not found");
        TorchRuntime.BeforeFirstUse();
        var net = Models.ModelFactory.Create(config);
        try
        {
            net.load_py(path);
        }
        catch (Exception e) when (e is not FmnistException and not OutOfMemoryException)
        {
            net.Dispose();
            throw new FmnistException($"{path}: not a PyTorch state_dict of this network ({e.Message.ReplaceLineEndings(" ").Split(". ")[0]})");
        }
        net.eval();
        return net;
    }
}
