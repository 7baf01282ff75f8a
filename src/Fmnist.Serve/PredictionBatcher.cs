using System.Diagnostics;
using System.Threading.Channels;
using Fmnist.Data;
using Fmnist.Inference;

namespace Fmnist.Serve;

/// <summary>What one request gets back: its own rows of probabilities and the pass they came from.</summary>
/// <param name="Probabilities">The request's images * 10, in the order it sent them.</param>
/// <param name="BatchImages">How many images (from all requests) shared the forward pass.</param>
/// <param name="InferenceMs">How long that forward pass took.</param>
public sealed record BatchResult(float[] Probabilities, int BatchImages, double InferenceMs);

/// <summary>
/// Dynamic batching, as model servers do it: requests queue in a channel; one loop takes the first, lets
/// others join for up to the wait or until the batch is full, runs one forward pass for all of them and
/// hands each request its own rows. A single loop also means the model is only ever called from one thread.
/// </summary>
public sealed class PredictionBatcher : IAsyncDisposable
{
    private sealed record Job(byte[] Images, int Count, TaskCompletionSource<BatchResult> Done);

    private readonly IClassifier _model;
    private readonly int _maxImages;
    private readonly TimeSpan _wait;
    private readonly Channel<Job> _queue = Channel.CreateUnbounded<Job>(new() { SingleReader = true });
    private readonly Task _loop;

    public PredictionBatcher(IClassifier model, int maxImages, double waitMs)
    {
        _model = model;
        _maxImages = Math.Max(1, maxImages);
        _wait = TimeSpan.FromMilliseconds(waitMs);
        _loop = Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Classifies N*784 raw pixel bytes; completes when the pass holding them is done.</summary>
    public Task<BatchResult> PredictAsync(byte[] images)
    {
        if (images.Length == 0 || images.Length % ImageShape.Pixels != 0)
            throw new ArgumentException("expected a whole number of 28x28 images", nameof(images));
        var job = new Job(images, images.Length / ImageShape.Pixels, new(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(job)) throw new ServerStoppingException();
        return job.Done.Task;
    }

    private async Task Run()
    {
        var reader = _queue.Reader;
        Job? carried = null;
        var batch = new List<Job>();
        while (carried is not null || await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            int images = 0;
            if (carried is null && !reader.TryRead(out carried)) continue;
            batch.Add(carried);
            images = carried.Count;
            carried = null;
            // A batch of 1 means no batching: each request is its own pass.
            if (_maxImages > 1) carried = await Gather(reader, batch, images).ConfigureAwait(false);
            Infer(batch);
        }
        // Stopped: nothing more will be read.
        if (carried is not null) carried.Done.TrySetException(new ServerStoppingException());
    }

    /// <summary>Adds queued jobs until the batch is full or the wait is over; returns a job that did not fit.</summary>
    private async Task<Job?> Gather(ChannelReader<Job> reader, List<Job> batch, int images)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(_wait.TotalSeconds * Stopwatch.Frequency);
        while (images < _maxImages)
        {
            while (images < _maxImages && reader.TryRead(out var next))
            {
                if (images + next.Count > _maxImages) return next;
                batch.Add(next);
                images += next.Count;
            }
            var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            if (images >= _maxImages || left <= TimeSpan.Zero) break;
            using var timeout = new CancellationTokenSource(left);
            try
            {
                if (!await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false)) break;
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        return null;
    }

    private void Infer(List<Job> batch)
    {
        var all = batch.Count == 1 ? batch[0].Images : batch.SelectMany(j => j.Images).ToArray();
        int total = batch.Sum(j => j.Count);
        float[] probs;
        var watch = Stopwatch.StartNew();
        try
        {
            probs = _model.Probabilities(all);
        }
        catch (Exception e)
        {
            foreach (var job in batch) job.Done.TrySetException(e);
            return;
        }
        double ms = watch.Elapsed.TotalMilliseconds;
        int offset = 0;
        foreach (var job in batch)
        {
            int length = job.Count * ClassNames.Count;
            job.Done.TrySetResult(new BatchResult(probs.AsSpan(offset, length).ToArray(), total, ms));
            offset += length;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }
}

/// <summary>A request arrived while the server was shutting down.</summary>
public sealed class ServerStoppingException() : Exception("the server is shutting down");
