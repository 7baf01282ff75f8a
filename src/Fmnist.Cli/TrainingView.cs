using Fmnist.Training;
using Spectre.Console;

namespace Fmnist.Cli;

/// <summary>
/// Renders training: where stderr is a terminal, a Spectre.Console progress bar for the epoch under way (cleared when
/// the epoch ends); everywhere, one plain line per epoch that reads well in a log file.
/// </summary>
internal sealed class TrainingView(CliIo io, bool json) : ITrainingProgress
{
    private readonly TextWriter _lines = json ? io.Stderr : io.Stdout;
    private int _epochs;

    /// <summary>The epoch bar on screen, if any: one at a time per process (Spectre allows one live display), so static.</summary>
    private static EpochBar? _bar;
    private static readonly Lock BarLock = new();

    public string Prefix { get; init; } = "";

    /// <summary>One line; whole even when ensemble members report from several threads at once.</summary>
    public void Message(string text)
    {
        lock (BarLock)
        {
            // Through the bar's console while it is drawn, so the line lands above the bar instead of through it.
            if (_bar is { } bar) bar.Console.WriteLine($"{Prefix}{text}");
            else lock (_lines) _lines.WriteLine($"{Prefix}{text}");
        }
    }

    public void EpochStarted(int epoch, int epochs, int batches)
    {
        _epochs = epochs;
        if (!io.Interactive) return;
        lock (BarLock)
        {
            _bar?.Stop();
            _bar = EpochBar.Start(io.Human(json: true), $"{Prefix}epoch {epoch}/{epochs}", batches);
        }
    }

    public void BatchDone(int batch, double runningLoss, double imagesPerSecond)
    {
        lock (BarLock)
            _bar?.Update(batch, Markup.Escape(FormattableString.Invariant($"{imagesPerSecond:F0} img/s  loss {runningLoss:F4}")));
    }

    public void EpochDone(EpochRecord r, bool best)
    {
        StopBar();
        _lines.WriteLine(FormattableString.Invariant(
            $"{Prefix}epoch {r.Epoch,2}/{_epochs}  train loss {r.TrainLoss:F4} acc {r.TrainAccuracy * 100:F2}%  {(r.ValAccuracy is { } va ? $"val loss {r.ValLoss:F4} acc {va * 100:F2}%" : "no validation")}  lr {r.LearningRate:G3}  {r.Seconds:F0} s  {r.ImagesPerSecond:F0} img/s  {r.RssMb:F0} MB{(best ? "  *best" : "")}"));
    }

    /// <summary>Clears the bar; CliApp calls it when a command ends, so a failure mid-epoch leaves no live display behind.</summary>
    public static void StopBar()
    {
        lock (BarLock)
        {
            _bar?.Stop();
            _bar = null;
        }
    }

    /// <summary>A Spectre.Console progress display run on its own thread (Progress.Start blocks) until <see cref="Stop"/>.</summary>
    private sealed class EpochBar
    {
        private readonly TaskCompletionSource _done = new();
        private Task _display = Task.CompletedTask;
        private ProgressTask? _task;
        private string _name = "";

        public IAnsiConsole Console { get; private init; } = null!;

        public static EpochBar Start(IAnsiConsole console, string name, int batches)
        {
            var bar = new EpochBar { Console = console, _name = Markup.Escape(name) };
            var ready = new ManualResetEventSlim(); // not disposed: the waiter below may outlive a display that failed
            bar._display = Task.Run(() => console.Progress().AutoClear(true).HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    bar._task = ctx.AddTask(bar._name, maxValue: Math.Max(1, batches));
                    ready.Set();
                    bar._done.Task.Wait();
                }));
            // The display may fail to start (no terminal after all): then there is no bar, only the epoch lines.
            Task.WaitAny(Task.Run(ready.Wait), bar._display);
            return bar;
        }

        public void Update(int batch, string detail)
        {
            if (_task is null) return;
            _task.Value = batch;
            _task.Description = $"{_name}  {detail}";
        }

        public void Stop()
        {
            _done.TrySetResult();
            try
            {
                _display.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
                // A display that failed only loses the bar; the epoch lines carry everything.
            }
        }
    }
}
