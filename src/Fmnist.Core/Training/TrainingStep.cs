using Fmnist.Features;
using Fmnist.Models.CnnLstm;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fmnist.Training;

/// <summary>What one optimisation step measured.</summary>
public readonly record struct StepResult(double Loss, long Correct, double LearningRate);

/// <summary>
/// The network, its optimizer, and one training step: the same code for `train` and `bench train`, so the
/// benchmark times exactly what training runs (augmentation, standardization, label smoothing, schedule).
/// </summary>
public sealed class TrainingStep : IDisposable
{
    private readonly TrainConfig _config;
    private readonly Normalization _norm;

    public CnnLstmNet Net { get; }
    public OptimizerHelper Optimizer { get; }

    public TrainingStep(TrainConfig config, Normalization norm)
    {
        _config = config;
        _norm = norm;
        manual_seed(config.Seed);
        Net = new CnnLstmNet(config.Model);
        Optimizer = optim.Adam(Net.parameters(), config.LearningRate);
    }

    /// <summary>One step on the images at <paramref name="indices"/> of <paramref name="images"/> (uint8) with their labels.</summary>
    /// <param name="step">Global step number (0-based), for the learning-rate schedule.</param>
    public StepResult Run(Tensor images, Tensor labels, long[] indices, Random augmentRng, long step, long totalSteps)
    {
        using var scope = NewDisposeScope();
        Net.train();
        var idx = tensor(indices);
        var x = images.index_select(0, idx).to_type(ScalarType.Float32).div_(255.0);
        if (_config.Augment == AugmentMode.Online) x = Augmenter.Apply(x, _config.Augmentation, augmentRng);
        x = x.sub_(_norm.Mean).div_(_norm.Std);
        var y = labels.index_select(0, idx);

        double lr = LearningRate(_config, step, totalSteps);
        foreach (var group in Optimizer.ParamGroups) group.LearningRate = lr;
        var logits = Net.call(x);
        var loss = nn.functional.cross_entropy(logits, y, label_smoothing: _config.LabelSmoothing);
        Optimizer.zero_grad();
        loss.backward();
        Optimizer.step();
        return new StepResult(loss.item<float>(), logits.argmax(1).eq(y).sum().item<long>(), lr);
    }

    /// <summary>Cosine decay from the base rate to zero over all steps, or constant.</summary>
    public static double LearningRate(TrainConfig c, long step, long totalSteps) => c.Schedule switch
    {
        LrSchedule.Cosine => c.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * step / Math.Max(1, totalSteps))),
        _ => c.LearningRate,
    };

    public void Dispose()
    {
        Optimizer.Dispose();
        Net.Dispose();
    }
}
