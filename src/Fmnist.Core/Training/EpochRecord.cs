namespace Fmnist.Training;

/// <param name="ValLoss">Null when the run holds out no validation images.</param>
/// <param name="RssMb">Resident memory of the process at the end of the epoch: it should stay flat.</param>
/// <param name="Precision">The arithmetic the epoch's training steps ran in (fp32 or bf16).</param>
public sealed record EpochRecord(int Epoch, double TrainLoss, double TrainAccuracy, double? ValLoss, double? ValAccuracy,
    double LearningRate, double Seconds, double ImagesPerSecond, double RssMb = 0, string? Precision = null);

/// <summary>How training reports to whoever renders it (the CLI draws bars; tests ignore it).</summary>
public interface ITrainingProgress
{
    void Message(string text);
    void EpochStarted(int epoch, int epochs, int batches);
    void BatchDone(int batch, double runningLoss, double imagesPerSecond);
    void EpochDone(EpochRecord record, bool best);
}

public sealed class SilentProgress : ITrainingProgress
{
    public static readonly SilentProgress Instance = new();
    public void Message(string text) { }
    public void EpochStarted(int epoch, int epochs, int batches) { }
    public void BatchDone(int batch, double runningLoss, double imagesPerSecond) { }
    public void EpochDone(EpochRecord record, bool best) { }
}
