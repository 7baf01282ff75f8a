using Fmnist.Features;
using Fmnist.Models;
using static TorchSharp.torch;

namespace Fmnist.Training;

/// <summary>What config.json holds: all that is needed to rebuild and use the model.</summary>
/// <param name="Compute">What the training ran on and in (absent in runs made before it was recorded).</param>
internal sealed record RunInfo(TrainConfig Config, Normalization Normalization, IReadOnlyDictionary<string, string> Versions,
    DateTimeOffset Created, ComputeInfo? Compute = null);

/// <summary>The precision and memory layout that ran and why, on which CPU (the layout is absent in runs made
/// before it was recorded: those ran NCHW).</summary>
internal sealed record ComputeInfo(string Precision, string PrecisionReason, string Cpu, string InstructionSets,
    string? Layout = null, string? LayoutReason = null)
{
    public static ComputeInfo Of(ResolvedPrecision p, ResolvedLayout? layout = null) =>
        new(p.Name, p.Reason, Platform.CpuInfo.Current.Model, string.Join(' ', Platform.CpuInfo.Current.InstructionSets),
            layout?.Name, layout?.Reason);
}

/// <summary>Resumable progress, rewritten after every epoch (see <see cref="Checkpoint"/>).</summary>
/// <param name="TorchRandomState">libtorch's generator after the epoch, base64; null in checkpoints of older versions.</param>
internal sealed record CheckpointState(int Epoch, int BestEpoch, double? BestValAccuracy, IReadOnlyList<EpochRecord> History,
    double Seconds, string? TorchRandomState = null);

/// <summary>The files of one run folder (runs/NAME) and how to read them back.</summary>
internal sealed class RunFolder(string directory)
{
    public string Directory { get; } = Path.GetFullPath(directory);
    public string ConfigPath => Path.Combine(Directory, "config.json");
    public string ModelPath => Path.Combine(Directory, "model.pt");          // weights of the best epoch
    public string CheckpointPath => Path.Combine(Directory, "checkpoint.pt"); // weights after the last epoch
    public string OptimizerPath => Path.Combine(Directory, "optimizer.pt");
    public string EmaPath => Path.Combine(Directory, "ema.pt");              // averaged weights after the last epoch
    public string StatePath => Path.Combine(Directory, "checkpoint.json");
    public string HistoryJsonPath => Path.Combine(Directory, "history.json");
    public string HistoryCsvPath => Path.Combine(Directory, "history.csv");
    public string CurvesPath => Path.Combine(Directory, "curves.png");
    public string SummaryPath => Path.Combine(Directory, "summary.txt");
    public string ResultPath => Path.Combine(Directory, "result.json");
    /// <summary>Where an epoch's files wait until all of them are written (see <see cref="Checkpoint"/>).</summary>
    public string PendingDirectory => Path.Combine(Directory, ".pending");

    public bool IsComplete => File.Exists(ResultPath) && File.Exists(ModelPath);

    public RunInfo ReadInfo()
    {
        if (!System.IO.Directory.Exists(Directory)) throw new FmnistException($"{Directory}: model folder not found");
        if (!File.Exists(ConfigPath)) throw new FmnistException($"{Directory}: not a run folder (no config.json)");
        var info = JsonFiles.Read<RunInfo>(ConfigPath);
        if (info.Config is null || info.Normalization is null || info.Config.Model is null)
            throw new FmnistException($"{ConfigPath}: incomplete config (model, training or normalization missing)");
        if (info.Normalization.Std <= 0 || double.IsNaN(info.Normalization.Mean))
            throw new FmnistException($"{ConfigPath}: invalid normalization (mean {info.Normalization.Mean}, std {info.Normalization.Std})");
        return info;
    }

    /// <summary>Rebuilds the network from config.json and loads the best weights, in eval mode.</summary>
    public (nn.Module<Tensor, Tensor> Net, RunInfo Info) LoadBest() => Load(ModelPath);

    public (nn.Module<Tensor, Tensor> Net, RunInfo Info) Load(string weightsPath)
    {
        var info = ReadInfo();
        TorchRuntime.BeforeFirstUse();
        try
        {
            info.Config.Model.Validate();
        }
        catch (FmnistException e)
        {
            throw new FmnistException($"{ConfigPath}: {e.Message}");
        }
        if (!File.Exists(weightsPath)) throw new FmnistException($"{weightsPath}: weights file not found");
        var net = ModelFactory.Create(info.Config.Model);
        try
        {
            net.load(weightsPath);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or EndOfStreamException
                                      or FormatException or NotImplementedException)
        {
            net.Dispose();
            throw new FmnistException($"{weightsPath}: weights do not match config.json or the file is corrupt ({e.Message.ReplaceLineEndings(" ").Split(". ")[0]})");
        }
        net.eval();
        return (net, info);
    }

    public void SaveWeights(nn.Module module, string path) =>
        AtomicFile.Write(path, tmp => module.save(tmp));
}
