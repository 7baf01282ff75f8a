using Fmnist.Inference;
using Fmnist.Serve;

namespace Fmnist.Tests;

/// <summary>The dynamic batcher alone, with a fake model that records every forward pass.</summary>
public sealed class ServeBatcherTests
{
    /// <summary>Row i's probabilities encode image i's first pixel, so a misrouted row shows.</summary>
    private sealed class EchoModel(TimeSpan delay) : IClassifier
    {
        public List<int> Passes { get; } = [];
        public List<byte> Seen { get; } = []; // every image's first pixel, in the order the model got them
        public Exception? Fail { get; set; }
        public ManualResetEventSlim Gate { get; } = new(true); // reset it to hold a pass until the test lets it go
        public ModelDescription Description { get; } = new("echo", "fake", 0, null, null);

        public float[] Probabilities(byte[] images, Evaluation.TtaMode tta = Evaluation.TtaMode.None)
        {
            lock (Passes)
            {
                Passes.Add(images.Length / 784);
                for (int i = 0; i < images.Length; i += 784) Seen.Add(images[i]);
            }
            Thread.Sleep(delay);
            Gate.Wait();
            if (Fail is not null) throw Fail;
            var probs = new float[images.Length / 784 * 10];
            for (int i = 0; i < images.Length / 784; i++) probs[i * 10] = images[i * 784];
            return probs;
        }

        public void Dispose() { }
    }

    private static byte[] Images(params byte[] firstPixels)
    {
        var images = new byte[firstPixels.Length * 784];
        for (int i = 0; i < firstPixels.Length; i++) images[i * 784] = firstPixels[i];
        return images;
    }

    [Fact]
    public async Task A_pass_that_records_features_hands_each_request_its_own_feature_rows()
    {
        var model = new EchoModel(TimeSpan.FromMilliseconds(20));
        // Three features per image, the first one its first pixel.
        (float[], float[]?) Pass(byte[] images) =>
            (model.Probabilities(images), [.. Enumerable.Range(0, images.Length / 784).SelectMany(i => new float[] { images[i * 784], -1, -2 })]);
        await using var batcher = new PredictionBatcher(model, maxImages: 8, waitMs: 50, pass: Pass);
        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(() => batcher.PredictAsync(Images((byte)i, (byte)(100 + i))))));
        for (int i = 0; i < results.Length; i++)
            Assert.Equal([i, -1, -2, 100 + i, -1, -2], results[i].Features!);
        Assert.True(model.Passes.Count < 12, "nothing was batched");
        await using var plain = new PredictionBatcher(model, 8, 0);
        Assert.Null((await plain.PredictAsync(Images(1))).Features); // the default pass records none
    }

    [Fact]
    public async Task ConcurrentRequests_ShareBoundedPasses_AndEachGetsItsOwnRows()
    {
        var model = new EchoModel(TimeSpan.FromMilliseconds(20));
        await using var batcher = new PredictionBatcher(model, maxImages: 8, waitMs: 50);
        var tasks = Enumerable.Range(0, 40).Select(i => Task.Run(() => batcher.PredictAsync(Images((byte)i, (byte)(100 + i))))).ToList();
        var results = await Task.WhenAll(tasks);

        for (int i = 0; i < results.Length; i++)
        {
            Assert.Equal(i, results[i].Probabilities[0]);
            Assert.Equal(100 + i, results[i].Probabilities[10]);
            Assert.Equal(20, results[i].Probabilities.Length);
        }
        Assert.All(model.Passes, n => Assert.InRange(n, 2, 8));
        Assert.Equal(80, model.Passes.Sum());
        Assert.True(model.Passes.Count < 40, $"{model.Passes.Count} passes for 40 requests: nothing was batched");
    }

    [Fact]
    public async Task BatchOfOne_RunsEachRequestAlone_AndABigRequestIsNeverSplit()
    {
        var model = new EchoModel(TimeSpan.FromMilliseconds(5));
        await using (var batcher = new PredictionBatcher(model, maxImages: 1, waitMs: 50))
            await Task.WhenAll(Enumerable.Range(0, 10).Select(i => batcher.PredictAsync(Images((byte)i))));
        Assert.Equal(Enumerable.Repeat(1, 10), model.Passes);

        var big = new EchoModel(TimeSpan.Zero);
        await using (var batcher = new PredictionBatcher(big, maxImages: 4, waitMs: 0))
        {
            var r = await batcher.PredictAsync(Images(1, 2, 3, 4, 5, 6));
            Assert.Equal(6, r.BatchImages);
            Assert.Equal(6, r.Probabilities[50]);
        }
    }

    [Fact]
    public async Task AFailingPass_FailsItsRequests_AndTheNextPassWorks()
    {
        var model = new EchoModel(TimeSpan.Zero) { Fail = new InvalidOperationException("boom") };
        await using var batcher = new PredictionBatcher(model, maxImages: 4, waitMs: 0);
        await Assert.ThrowsAsync<InvalidOperationException>(() => batcher.PredictAsync(Images(7)));
        model.Fail = null;
        Assert.Equal(9, (await batcher.PredictAsync(Images(9))).Probabilities[0]);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        for (int i = 0; i < 500 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition(), "timed out waiting for the batcher");
    }

    [Fact]
    public async Task BeyondTheQueueLimit_RequestsAreRefusedAtOnce_AndTheQueuedOnesStillRun()
    {
        var model = new EchoModel(TimeSpan.Zero);
        model.Gate.Reset();
        await using var batcher = new PredictionBatcher(model, maxImages: 1, waitMs: 0, queueLimit: 2);
        var running = batcher.PredictAsync(Images(1));
        await WaitFor(() => model.Passes.Count == 1); // the first is in its pass (held there): the queue is empty again
        var queued = new[] { batcher.PredictAsync(Images(2)), batcher.PredictAsync(Images(3)) };
        Assert.Equal(2, batcher.Queued);
        Assert.True(batcher.IsFull);
        var refused = Assert.Throws<QueueFullException>(() => { _ = batcher.PredictAsync(Images(4)); });
        Assert.Contains("--queue-limit", refused.Message);

        model.Gate.Set();
        Assert.Equal(1, (await running).Probabilities[0]);
        Assert.Equal([2f, 3f], (await Task.WhenAll(queued)).Select(r => r.Probabilities[0]));
        Assert.Equal(0, batcher.Queued);
        Assert.Equal(5, (await batcher.PredictAsync(Images(5))).Probabilities[0]);
        Assert.Equal([1, 2, 3, 5], model.Seen.Select(b => (int)b));
    }

    [Fact]
    public async Task ACancelledRequest_EndsAtOnce_AndItsImagesNeverReachTheModel()
    {
        var model = new EchoModel(TimeSpan.Zero);
        model.Gate.Reset();
        await using var batcher = new PredictionBatcher(model, maxImages: 1, waitMs: 0, queueLimit: 1);
        var running = batcher.PredictAsync(Images(1));
        await WaitFor(() => model.Passes.Count == 1);
        using var deadline = new CancellationTokenSource();
        var late = batcher.PredictAsync(Images(2), deadline.Token);
        Assert.Equal(1, batcher.Queued);
        deadline.Cancel(); // its deadline passes while the pass before it still runs
        Assert.True(late.IsCanceled, "a cancelled request waited for the pass ahead of it");
        Assert.False(running.IsCompleted);
        Assert.Equal(0, batcher.Queued); // its slot is free for the next request
        var next = batcher.PredictAsync(Images(3));
        model.Gate.Set();
        await running;
        Assert.Equal(3, (await next).Probabilities[0]);
        Assert.Equal([1, 3], model.Seen.Select(b => (int)b));
    }

    [Fact]
    public async Task Dispose_RunsEveryQueuedRequestBeforeItReturns()
    {
        var model = new EchoModel(TimeSpan.FromMilliseconds(50));
        var batcher = new PredictionBatcher(model, maxImages: 2, waitMs: 0);
        var tasks = Enumerable.Range(0, 8).Select(i => batcher.PredictAsync(Images((byte)i))).ToList();
        await batcher.DisposeAsync();
        Assert.All(tasks, t => Assert.True(t.IsCompletedSuccessfully));
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (float)i), tasks.Select(t => t.Result.Probabilities[0]));
    }

    [Fact]
    public async Task AfterDispose_RequestsAreRefused()
    {
        var batcher = new PredictionBatcher(new EchoModel(TimeSpan.Zero), 4, 0);
        await batcher.DisposeAsync();
        Assert.Throws<ServerStoppingException>(() => { _ = batcher.PredictAsync(Images(1)); });
    }
}
