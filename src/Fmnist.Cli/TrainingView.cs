using System.Diagnostics;
using Fmnist.Training;

namespace Fmnist.Cli;

/// <summary>
/// Renders training: a one-line progress bar redrawn on stderr when it is a terminal, and one plain line
/// per epoch that reads well in a log file.
/// </summary>
internal sealed class TrainingView(CliIo io, bool json) : ITrainingProgress
{
    private const int BarWidth = 28;
    private readonly TextWriter _lines = json ? io.Stderr : io.Stdout;
    private readonly Stopwatch _sinceDraw = Stopwatch.StartNew(), _epochWatch = new();
    private int _epoch, _epochs, _batches;

    public string Prefix { get; init; } = "";

    /// <summary>One line; whole even when ensemble members report from several threads at once.</summary>
    public void Message(string text)
    {
        lock (_lines) _lines.WriteLine($"{Prefix}{text}");
    }

    public void EpochStarted(int epoch, int epochs, int batches)
    {
        (_epoch, _epochs, _batches) = (epoch, epochs, batches);
        _epochWatch.Restart();
    }

    public void BatchDone(int batch, double runningLoss, double imagesPerSecond)
    {
        if (!io.Interactive || (_sinceDraw.ElapsedMilliseconds < 250 && batch != _batches)) return;
        _sinceDraw.Restart();
        int filled = (int)((double)batch / _batches * BarWidth);
        // Time per batch so far: right whatever the batch size.
        var eta = TimeSpan.FromSeconds(_epochWatch.Elapsed.TotalSeconds / batch * (_batches - batch));
        io.Stderr.Write($"\r{Prefix}epoch {_epoch}/{_epochs} [{new string('#', filled)}{new string('.', BarWidth - filled)}] " +
                        $"{batch}/{_batches}  {imagesPerSecond:F0} img/s  ETA {eta:m\\:ss}  loss {runningLoss:F4}   ");
    }

    public void EpochDone(EpochRecord r, bool best)
    {
        if (io.Interactive) io.Stderr.Write("\r" + new string(' ', 110) + "\r");
        _lines.WriteLine(FormattableString.Invariant(
            $"{Prefix}epoch {r.Epoch,2}/{_epochs}  train loss {r.TrainLoss:F4} acc {r.TrainAccuracy * 100:F2}%  {(r.ValAccuracy is { } va ? $"val loss {r.ValLoss:F4} acc {va * 100:F2}%" : "no validation")}  lr {r.LearningRate:G3}  {r.Seconds:F0} s  {r.ImagesPerSecond:F0} img/s  {r.RssMb:F0} MB{(best ? "  *best" : "")}"));
    }
}
