using Fmnist.Models.Speed;
using Fmnist.Models.ResNet;
using Fmnist.Models.CnnLstm;
using Fmnist.Models;
using Fmnist.Features;
using Fmnist.Training;

namespace Fmnist.Tests;

/// <summary>
/// Run with no other test beside it: libtorch's thread pool is shared by the process, and inference from parallel
/// test classes changes how a training's reductions are split, so "alone" must mean alone.
/// </summary>
[CollectionDefinition("libtorch alone", DisableParallelization = true)]
public sealed class LibtorchAloneCollection;

/// <summary>Two trainings started together in one process give the epoch lines each gives alone.</summary>
[Collection("libtorch alone")]
public class TrainingIsolationTests
{
    private static readonly TrainConfig Small = new()
    {
        Model = new CnnLstmConfig { Lstm = 16, Dense = 16 },
        Augment = AugmentMode.None,
        BatchSize = 64,
        Epochs = 1,
        TrainLimit = 640,
    };

    private static IReadOnlyList<EpochRecord> Train(TrainConfig config) =>
        Trainer.Run(TestData.Fashion.Train, config, Path.Combine(TestData.TempDir(), "run")).History;

    private static string Lines(IReadOnlyList<EpochRecord> history) =>
        string.Join("\n", history.Select(e => $"{e.Epoch} {e.TrainLoss:R} {e.TrainAccuracy:R} {e.ValLoss:R} {e.ValAccuracy:R}"));

    [Fact]
    public void Side_by_side_trainings_draw_only_their_own_random_numbers()
    {
        var other = Small with { Seed = 2 };
        string alone = Lines(Train(Small));
        string otherAlone = Lines(Train(other));
        var together = new[] { Small, other }.AsParallel().WithDegreeOfParallelism(2).Select(c => Lines(Train(c))).ToArray();
        Assert.Contains(alone, together);
        Assert.Contains(otherAlone, together);
        Assert.NotEqual(alone, otherAlone);
    }
}
