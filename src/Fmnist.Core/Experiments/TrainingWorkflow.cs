using Fmnist.Data;
using Fmnist.Evaluation;
using Fmnist.Training;

namespace Fmnist.Experiments;

/// <summary>What result.json holds for a finished run.</summary>
public sealed record RunResult(string ModelDir, TrainConfig Config, int BestEpoch, double? ValAccuracy, double TestAccuracy,
    double Seconds, int TrainImages, int ValidationImages, int TestImages, IReadOnlyList<EpochRecord> History);

/// <summary>
/// Train, then score the best epoch's weights on the test set exactly once, and write the run's files; the
/// run folder is locked throughout, so a second process cannot mix its files into it.
/// </summary>
public static class TrainingWorkflow
{
    /// <summary>
    /// Opt-in: tunes this process as the fmnist CLI does, before its first tensor. The library changes none of
    /// these process-wide settings unless this is called: OpenMP's idle threads wait passively (OMP_WAIT_POLICY,
    /// set in the native environment), glibc malloc keeps freed activations for reuse (without a preloaded
    /// tcmalloc, training ran ~3x slower untuned here), libtorch computes with <paramref name="threads"/>
    /// threads, and training runs a full compacting GC after every epoch so memory stays flat. The first call wins.
    /// </summary>
    /// <param name="threads">libtorch's intra-op threads; null = every core.</param>
    public static void TuneProcess(int? threads = null) => TorchRuntime.Initialize(threads);

    /// <summary>Trains <paramref name="config"/> on <paramref name="data"/>'s training images into the run folder
    /// <paramref name="outDir"/>, then scores the best epoch's weights on the test images once and writes result.json,
    /// then calibrates the model on its validation split (trust.json).</summary>
    /// <param name="data">The dataset (<see cref="DataFiles.Load"/>).</param>
    /// <param name="config">The settings; <see cref="Presets.Get"/> gives the named ones.</param>
    /// <param name="outDir">The run folder: weights, config, history, curves, checkpoints.</param>
    /// <param name="progress">Where progress goes (null: nowhere).</param>
    /// <param name="resume">Continue an interrupted run in <paramref name="outDir"/> (it must have the same config).</param>
    /// <param name="testLimit">Score only the first N test images; null = all 10,000.</param>
    /// <param name="tensorboard">Also write TensorBoard event files into the run folder's tensorboard/ (<see cref="Reports.TensorBoardLog"/>).</param>
    /// <param name="stop">Stops the training after the epoch under way (then throws a <see cref="FmnistException"/> that says so; <c>resume: true</c> continues it).</param>
    public static RunResult TrainAndTest(Dataset data, TrainConfig config, string outDir, ITrainingProgress? progress = null,
        bool resume = false, int? testLimit = null, bool tensorboard = false, CancellationToken stop = default)
    {
        config.Validate(); // before the lock creates the folder
        using var folderLock = FolderLock.Acquire(outDir);
        if (folderLock.TookOverFrom is { } dead)
            progress?.Message($"{outDir}: taking over the lock left by pid {dead.Pid} on {dead.Host}, which stopped without releasing it");
        var board = tensorboard ? new Reports.TensorBoardLog(outDir, progress ?? SilentProgress.Instance) : null;
        var trained = Trainer.Run(data.Train, config, outDir, board ?? progress, resume,
            afterEpoch: (folder, history) =>
            {
                Reports.Plots.SaveCurves(history, folder.CurvesPath);
                board?.Weights(folder, folder.CheckpointPath, history[^1].Epoch);
            }, stop);
        var test = data.Test.Take(testLimit);
        var (net, info) = trained.Folder.LoadBest();
        double testAccuracy;
        using (net)
        {
            testAccuracy = Evaluator.Score(net, test, info.Normalization).Accuracy;
            board?.Errors(net, test, info.Normalization, trained.BestEpoch);
        }
        var result = new RunResult(trained.Folder.Directory, config, trained.BestEpoch, trained.BestValAccuracy, testAccuracy,
            trained.Seconds, trained.TrainImages, trained.ValidationImages, test.Count, trained.History);
        JsonFiles.Write(trained.Folder.ResultPath, result);
        progress?.Message("calibrating on the validation split (temperature, recognition thresholds) -> trust.json");
        Trust.TrustWorkflow.Calibrate(trained.Folder.Directory, data.Train);
        return result;
    }

    /// <summary>Writes trust.json for a finished run that has none (runs made before calibration existed).</summary>
    public static void EnsureCalibrated(string dir, LabeledImages train)
    {
        if (Trust.TrustInfo.Read(dir) is null) Trust.TrustWorkflow.Calibrate(dir, train);
    }

    /// <summary>The finished run in <paramref name="dir"/> when it was trained with exactly <paramref name="config"/>.</summary>
    public static RunResult? ReadResult(string dir, TrainConfig config) =>
        ReadResult(dir) is { } done && JsonFiles.Serialize(done.Config) == JsonFiles.Serialize(config) ? done : null;

    /// <summary>The finished run in <paramref name="dir"/> (its result.json), or null when it has none.</summary>
    public static RunResult? ReadResult(string dir)
    {
        var folder = new RunFolder(dir);
        return folder.IsComplete ? JsonFiles.Read<RunResult>(folder.ResultPath) : null;
    }
}
