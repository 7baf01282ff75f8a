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
        Result = TrainingWorkflow.TrainAndTest(TestData.Fashion, Config, Directory, testLimit: 1000);
    }

    public string Directory { get; }
    public RunResult Result { get; }
}

[CollectionDefinition("trained model")]
public sealed class TrainedModelCollection : ICollectionFixture<TrainedModelFixture>;
