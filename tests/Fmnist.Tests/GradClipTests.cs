using Fmnist.Data;
using Fmnist.Evaluation;
using Fmnist.Features;
using Fmnist.Models.CnnLstm;
using Fmnist.Training;
using Xunit;
using static TorchSharp.torch;

namespace Fmnist.Tests;

public class GradClipTests
{
    /// <summary>The L2 norm of all trainable gradients together: what the optimizer stepped with.</summary>
    private static double GradNorm(TrainingStep step) =>
        Math.Sqrt(step.Net.parameters().Where(p => p.requires_grad && p.grad is not null).Sum(p => p.grad!.pow(2).sum().item<float>()));

    [Fact]
    public void The_optimizer_steps_with_gradients_clipped_to_the_norm()
    {
        TorchRuntime.Initialize();
        var set = TestData.Fashion.Train.Take(64);
        var norm = Normalization.FromImages(set);
        using var images = Evaluator.ImageTensor(set.Images);
        using var labels = Evaluator.LabelTensor(set.Labels);
        long[] batch = [.. Enumerable.Range(0, 64).Select(i => (long)i)];
        var config = new TrainConfig { Model = new CnnLstmConfig { Lstm = 16, Dense = 16 }, Augment = AugmentMode.None };

        using var free = new TrainingStep(config, norm);
        free.Run(images, labels, batch, new Random(1), 0, 10);
        double unclipped = GradNorm(free);
        Assert.True(unclipped > 0.05, $"the unclipped gradient norm {unclipped} is too small to show clipping");

        using var clipped = new TrainingStep(config with { GradClip = 0.05 }, norm);
        clipped.Run(images, labels, batch, new Random(1), 0, 10);
        Assert.InRange(GradNorm(clipped), 0.049, 0.0501);
        Assert.Contains("grad_clip", JsonFiles.Serialize(config with { GradClip = 0.05 }));
        Assert.DoesNotContain("grad_clip", JsonFiles.Serialize(config)); // off: config.json as before the setting existed
    }
}
