namespace Fmnist.Training;

/// <summary>One epoch of a training run, as history.csv/history.json record it.</summary>
/// <param name="Epoch">The epoch number, from 1.</param>
/// <param name="TrainLoss">Mean training loss over the epoch's steps.</param>
/// <param name="TrainAccuracy">Share of training images classified right during the epoch (train mode, augmented).</param>
/// <param name="ValAccuracy">Validation accuracy after the epoch; null without validation images.</param>
/// <param name="LearningRate">The learning rate of the epoch's last step.</param>
/// <param name="Seconds">Wall time of the epoch, validation included.</param>
/// <param name="ImagesPerSecond">Training throughput.</param>
/// <param name="ValLoss">Null when the run holds out no validation images.</param>
/// <param name="RssMb">Resident memory of the process at the end of the epoch: it should stay flat.</param>
/// <param name="Precision">The arithmetic the epoch's training steps ran in (fp32 or bf16).</param>
public sealed record EpochRecord(int Epoch, double TrainLoss, double TrainAccuracy, double? ValLoss, double? ValAccuracy,
    double LearningRate, double Seconds, double ImagesPerSecond, double RssMb = 0, string? Precision = null);

/// <summary>How training reports to whoever renders it (the CLI draws bars; tests ignore it).</summary>
public interface ITrainingProgress
{
    /// <summary>A line of news (resuming, preparing data).</summary>
    void Message(string text);
    /// <summary>Epoch <paramref name="epoch"/> of <paramref name="epochs"/> starts; it has <paramref name="batches"/> steps.</summary>
    void EpochStarted(int epoch, int epochs, int batches);
    /// <summary>Step <paramref name="batch"/> (from 1) of the epoch is done; the epoch's mean loss and speed so far.</summary>
    void BatchDone(int batch, double runningLoss, double imagesPerSecond);
    /// <summary>After each optimisation step: its own loss (not the running mean) and learning rate; <paramref name="step"/> counts from 0 over the whole run.</summary>
    void StepDone(long step, double loss, double learningRate) { }
    /// <summary>The epoch is done and saved; <paramref name="best"/> when its weights are now the run's model.</summary>
    void EpochDone(EpochRecord record, bool best);
}

/// <summary>Progress that goes nowhere.</summary>
internal sealed class SilentProgress : ITrainingProgress
{
    /// <summary>The one instance.</summary>
    public static readonly SilentProgress Instance = new();
    /// <inheritdoc/>
    public void Message(string text) { }
    /// <inheritdoc/>
    public void EpochStarted(int epoch, int epochs, int batches) { }
    /// <inheritdoc/>
    public void BatchDone(int batch, double runningLoss, double imagesPerSecond) { }
    /// <inheritdoc/>
    public void EpochDone(EpochRecord record, bool best) { }
}
