using Xunit;
using Fmnist.Models.Speed;
using Fmnist.Models.ResNet;
using Fmnist.Models.CnnLstm;
using Fmnist.Models;
using Fmnist.Experiments;
using Fmnist.Features;
using Fmnist.Training;

namespace Fmnist.Tests;

/// <summary>
/// One small model trained on a real-data slice, shared by the tests that need a trained run folder.
/// Enough batches (~190) for BatchNorm's running statistics to settle, or eval-mode accuracy is noise.
/// Trained by `fmnist train` in a process of its own: in this one, tests running beside it draw from libtorch's
/// process-wide generator and thread pool, so the weights (and the explanation checks read from them) would
/// change with the tests' timing.
/// </summary>
public sealed class TrainedModelFixture
{
    public static readonly TrainConfig Config = new()
    {
        Model = new CnnLstmConfig { Lstm = 32, Dense = 32 },
        Augment = AugmentMode.None,
        BatchSize = 64,
        Epochs = 2,
        LearningRate = 2e-3,
        TrainLimit = 7500,
    };

    public TrainedModelFixture()
    {
        Directory = Path.Combine(TestData.TempDir(), "run");
        var (code, _, err) = CliProcess.Run("train", "--out", Directory, "--lstm", "32", "--dense", "32", "--augment", "none",
            "--batch-size", "64", "--epochs", "2", "--learning-rate", "0.002", "--train-limit", "7500", "--precision", "fp32", "--test-limit", "1000");
        Assert.True(code == 0, $"fmnist train: {err}");
        Result = TrainingWorkflow.ReadResult(Directory, Config) ?? throw new InvalidOperationException($"{Directory}: trained with other settings than {nameof(Config)}");
    }

    public string Directory { get; }
    public RunResult Result { get; }
}

[CollectionDefinition("trained model")]
public sealed class TrainedModelCollection : ICollectionFixture<TrainedModelFixture>;
