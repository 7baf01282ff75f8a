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
    public static RunResult TrainAndTest(Dataset data, TrainConfig config, string outDir, ITrainingProgress? progress = null,
        bool resume = false, int? testLimit = null)
    {
        config.Validate(); // before the lock creates the folder
        using var folderLock = FolderLock.Acquire(outDir);
        if (folderLock.TookOverFrom is { } dead)
            progress?.Message($"{outDir}: taking over the lock left by pid {dead.Pid} on {dead.Host}, which stopped without releasing it");
        var trained = Trainer.Run(data.Train, config, outDir, progress, resume,
            afterEpoch: (folder, history) => Reports.Plots.SaveCurves(history, folder.CurvesPath));
        var test = data.Test.Take(testLimit);
        var (net, info) = trained.Folder.LoadBest();
        double testAccuracy;
        using (net) testAccuracy = Evaluator.Score(net, test, info.Normalization).Accuracy;
        var result = new RunResult(trained.Folder.Directory, config, trained.BestEpoch, trained.BestValAccuracy, testAccuracy,
            trained.Seconds, trained.TrainImages, trained.ValidationImages, test.Count, trained.History);
        JsonFiles.Write(trained.Folder.ResultPath, result);
        return result;
    }

    /// <summary>The finished run in <paramref name="dir"/> when it was trained with exactly <paramref name="config"/>.</summary>
    public static RunResult? ReadResult(string dir, TrainConfig config) =>
        ReadResult(dir) is { } done && JsonFiles.Serialize(done.Config) == JsonFiles.Serialize(config) ? done : null;

    public static RunResult? ReadResult(string dir)
    {
        var folder = new RunFolder(dir);
        return folder.IsComplete ? JsonFiles.Read<RunResult>(folder.ResultPath) : null;
    }
}
