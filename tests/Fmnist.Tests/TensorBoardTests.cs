using Fmnist.Models.Speed;
using Fmnist.Models.ResNet;
using Fmnist.Models.CnnLstm;
using Fmnist.Models;
using Fmnist.Experiments;
using Fmnist.Features;
using Fmnist.Reports;
using Fmnist.Training;

namespace Fmnist.Tests;

/// <summary>A short real training with --tensorboard, its event files read back by an independent reader.</summary>
public class TensorBoardTests
{
    [Fact]
    public void Crc32c_matches_the_published_check_value()
    {
        Assert.Equal(0xE3069283u, TensorBoardEvents.Crc32C("123456789"u8)); // RFC 3720's CRC-32C check value
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Training_writes_scalars_histograms_and_images_that_read_back()
    {
        var dir = Path.Combine(TestData.TempDir(), "run");
        var config = new TrainConfig { Augment = AugmentMode.None, BatchSize = 50, Epochs = 2, TrainLimit = 300, Model = new CnnLstmConfig { Lstm = 8, Dense = 8 } };
        var result = TrainingWorkflow.TrainAndTest(TestData.Fashion, config, dir, testLimit: 200, tensorboard: true);

        var files = Directory.GetFiles(Path.Combine(dir, TensorBoardLog.FolderName), "events.out.tfevents.*");
        var events = Assert.Single(files) is var file ? TensorBoardEvents.Read(file).ToList() : [];
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        var values = events.SelectMany(e => e.Values.Select(v => (e.Step, e.WallTime, Value: v))).ToList();
        IReadOnlyList<(long Step, float Value)> Scalars(string tag) =>
            values.Where(v => v.Value.Tag == tag).Select(v => (v.Step, v.Value.Scalar!.Value)).ToList();

        // 240 training images (60 held out) in batches of 50: 5 steps per epoch, steps numbered 0..9.
        var stepLoss = Scalars("step/loss");
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), stepLoss.Select(s => s.Step));
        for (int epoch = 1; epoch <= 2; epoch++)
        {
            var losses = stepLoss.Skip((epoch - 1) * 5).Take(5).Select(s => (double)s.Value).ToArray();
            double mean = (losses[..4].Sum() * 50 + losses[4] * 40) / 240; // the last batch holds 40 images
            Assert.Equal(result.History[epoch - 1].TrainLoss, mean, 4);
        }
        Assert.All(Scalars("step/learning_rate"), s => Assert.Equal(TrainingStep.LearningRate(config, s.Step, 10), s.Value, 6));
        Assert.Equal(result.History.Select(h => (float)h.ValAccuracy!.Value), Scalars("epoch/val_accuracy").Select(s => s.Value));
        Assert.Equal(result.History.Select(h => (float)h.TrainLoss), Scalars("epoch/train_loss").Select(s => s.Value));
        Assert.Equal([1L, 2L], Scalars("epoch/images_per_second").Select(s => s.Step));
        Assert.Equal((float)result.TestAccuracy, Assert.Single(Scalars("test/accuracy")).Value);

        var histograms = values.Where(v => v.Value.Histogram is not null).ToList();
        Assert.Contains(histograms, h => h.Value.Tag.StartsWith("weights/", StringComparison.Ordinal) && h.Step == 2);
        Assert.All(histograms, h => Assert.Equal(h.Value.Histogram!.Value.Num, h.Value.Histogram.Value.Counts.Sum()));

        var images = values.Where(v => v.Value.Image is not null).ToDictionary(v => v.Value.Tag, v => v.Value.Image!.Value);
        Assert.Equal(["test/confusion", "test/misclassified"], images.Keys.Order());
        Assert.All(images.Values, i => Assert.True(i.Png.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10 })));
        using var confusion = SkiaSharp.SKBitmap.Decode(images["test/confusion"].Png);
        Assert.Equal((confusion.Width, confusion.Height), (images["test/confusion"].Width, images["test/confusion"].Height));

        // Wall time is seconds since 1970 (what TensorBoard's time axis reads).
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.All(values, v => Assert.InRange(v.WallTime, now - 3600, now + 60));
    }
}
