using System.Diagnostics;
using System.Threading.Channels;
using Fmnist.Data;
using Fmnist.Inference;

namespace Fmnist.Serve;

/// <summary>What one request gets back: its own rows of probabilities and the pass they came from.</summary>
/// <param name="Probabilities">The request's images * 10, in the order it sent them.</param>
/// <param name="BatchImages">How many images (from all requests) shared the forward pass.</param>
/// <param name="InferenceMs">How long that forward pass took.</param>
/// <param name="Features">The request's images * the network's penultimate features, when the pass records them.</param>
public sealed record BatchResult(float[] Probabilities, int BatchImages, double InferenceMs, float[]? Features = null);

/// <summary>
/// Dynamic batching, as model servers do it: requests queue in a channel; one loop takes the first, lets
/// others join for up to the wait or until the batch is full, runs one forward pass for all of them and
/// hands each request its own rows. A single loop also means the model is only ever called from one thread.
/// The queue is bounded (TorchServe and Triton do the same): past the limit a request is refused at once rather
/// than left to wait behind everyone else, so the ones accepted keep a short wait.
/// </summary>
public sealed class PredictionBatcher : IAsyncDisposable
{
    private sealed class Job(byte[] images, CancellationToken cancel)
    {
        private int _left; // 1 once the job has left the queue, by being taken into a batch or by being cancelled
        public byte[] Images { get; } = images;
        public int Count { get; } = images.Length / ImageShape.Pixels;
        public CancellationToken Cancel { get; } = cancel;
        public TaskCompletionSource<BatchResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public CancellationTokenRegistration Registration { get; set; }
        public bool TryLeaveQueue() => Interlocked.Exchange(ref _left, 1) == 0;
    }

    private readonly Func<byte[], (float[] Probabilities, float[]? Features)> _pass;
    private readonly int _maxImages;
    private readonly int _queueLimit;
    private readonly TimeSpan _wait;
    private readonly Action<int>? _passed;
    private readonly Channel<Job> _queue = Channel.CreateUnbounded<Job>(new() { SingleReader = true });
    private readonly Task _loop;
    private int _queued;

    /// <param name="passed">Told the number of images of every forward pass (the batch-size metric).</param>
    /// <param name="pass">The forward pass itself, when it records features on the way; by default the model's probabilities.</param>
    public PredictionBatcher(IClassifier model, int maxImages, double waitMs, int queueLimit = int.MaxValue, Action<int>? passed = null,
        Func<byte[], (float[] Probabilities, float[]? Features)>? pass = null)
    {
        _passed = passed;
        _pass = pass ?? (images => (model.Probabilities(images), null));
        _maxImages = Math.Max(1, maxImages);
        _queueLimit = Math.Max(1, queueLimit);
        _wait = TimeSpan.FromMilliseconds(waitMs);
        _loop = Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Requests waiting for a forward pass now.</summary>
    public int Queued => Volatile.Read(ref _queued);

    /// <summary>Whether a request arriving now would be refused (checked before its body is read, to spare that work).</summary>
    public bool IsFull => Queued >= _queueLimit;

    /// <summary>
    /// Classifies N*784 raw pixel bytes; completes when the pass holding them is done. Throws
    /// <see cref="QueueFullException"/> when the queue is at its limit. Once <paramref name="cancel"/> fires the
    /// task is cancelled, and the images are dropped unless their pass has already started.
    /// </summary>
    public Task<BatchResult> PredictAsync(byte[] images, CancellationToken cancel = default)
    {
        if (images.Length == 0 || images.Length % ImageShape.Pixels != 0)
            throw new ArgumentException("expected a whole number of 28x28 images", nameof(images));
        cancel.ThrowIfCancellationRequested();
        if (Interlocked.Increment(ref _queued) > _queueLimit)
        {
            Interlocked.Decrement(ref _queued);
            throw new QueueFullException(_queueLimit);
        }
        var job = new Job(images, cancel);
        if (!_queue.Writer.TryWrite(job))
        {
            Interlocked.Decrement(ref _queued);
            throw new ServerStoppingException();
        }
        if (cancel.CanBeCanceled)
            job.Registration = cancel.Register(static state =>
            {
                var (batcher, j) = ((PredictionBatcher, Job))state!;
                if (j.TryLeaveQueue()) Interlocked.Decrement(ref batcher._queued); // its slot is free for another request
                j.Done.TrySetCanceled(j.Cancel);
            }, (this, job));
        return job.Done.Task;
    }

    /// <summary>Takes a job off the queue for a batch; false when it was cancelled while waiting (dropped unseen).</summary>
    private bool Take(Job job)
    {
        if (!job.TryLeaveQueue()) return false;
        Interlocked.Decrement(ref _queued);
        return true;
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
            if (carried is null && (!reader.TryRead(out carried) || !Take(carried)))
            {
                carried = null;
                continue;
            }
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
                if (!Take(next)) continue;
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
        // A request whose deadline passed (or whose client left) while the batch gathered: its images are not run.
        batch.RemoveAll(j => j.Done.Task.IsCompleted);
        if (batch.Count == 0) return;
        var all = batch.Count == 1 ? batch[0].Images : batch.SelectMany(j => j.Images).ToArray();
        int total = batch.Sum(j => j.Count);
        float[] probs;
        float[]? features;
        var watch = Stopwatch.StartNew();
        try
        {
            (probs, features) = _pass(all);
        }
        catch (Exception e)
        {
            foreach (var job in batch)
            {
                job.Registration.Dispose();
                job.Done.TrySetException(e);
            }
            return;
        }
        double ms = watch.Elapsed.TotalMilliseconds;
        _passed?.Invoke(total);
        int row = 0, width = features is null ? 0 : features.Length / total;
        foreach (var job in batch)
        {
            job.Registration.Dispose();
            job.Done.TrySetResult(new BatchResult(probs.AsSpan(row * ClassNames.Count, job.Count * ClassNames.Count).ToArray(), total, ms,
                features?.AsSpan(row * width, job.Count * width).ToArray()));
            row += job.Count;
        }
    }

    /// <summary>Refuses new requests, runs every one already queued, then returns.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }
}

/// <summary>A request arrived while the server was shutting down.</summary>
public sealed class ServerStoppingException() : Exception("the server is shutting down");

/// <summary>The batcher's queue is at its limit: the request is refused rather than left to wait.</summary>
public sealed class QueueFullException(int limit) : Exception($"the server is busy: {limit} requests are already waiting for the model (--queue-limit); retry shortly");
