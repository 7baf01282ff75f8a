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
        public Exception? Fail { get; set; }
        public ModelDescription Description { get; } = new("echo", "fake", 0, null, null);

        public float[] Probabilities(byte[] images, bool flipTta = false)
        {
            lock (Passes) Passes.Add(images.Length / 784);
            Thread.Sleep(delay);
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

    [Fact]
    public async Task AfterDispose_RequestsAreRefused()
    {
        var batcher = new PredictionBatcher(new EchoModel(TimeSpan.Zero), 4, 0);
        await batcher.DisposeAsync();
        Assert.Throws<ServerStoppingException>(() => { _ = batcher.PredictAsync(Images(1)); });
    }
}
