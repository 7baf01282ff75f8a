using Fmnist.Data;
using Fmnist.Evaluation;
using Fmnist.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fmnist.Reports;

/// <summary>
/// TensorBoard event files in a run folder's tensorboard/ (TorchSharp's SummaryWriter): per-step loss
/// and learning rate, per-epoch losses, accuracies, learning rate, speed and memory, weight histograms
/// after each epoch, and the test confusion matrix and misclassified examples as images at the end.
/// It wraps the progress the caller passed, so training itself needs to know nothing of it.
/// </summary>
public sealed class TensorBoardLog(string runDirectory, ITrainingProgress inner) : ITrainingProgress
{
    /// <summary>The folder under a run folder that holds its event files.</summary>
    public const string FolderName = "tensorboard";

    private readonly SummaryWriter _writer = utils.tensorboard.SummaryWriter(Path.Combine(runDirectory, FolderName));

    /// <summary>Where the event files go.</summary>
    public string Directory => _writer.LogDir;

    /// <inheritdoc/>
    public void Message(string text) => inner.Message(text);

    /// <inheritdoc/>
    public void EpochStarted(int epoch, int epochs, int batches) => inner.EpochStarted(epoch, epochs, batches);

    /// <inheritdoc/>
    public void BatchDone(int batch, double runningLoss, double imagesPerSecond) => inner.BatchDone(batch, runningLoss, imagesPerSecond);

    /// <inheritdoc/>
    public void StepDone(long step, double loss, double learningRate)
    {
        _writer.add_scalar("step/loss", (float)loss, (int)step);
        _writer.add_scalar("step/learning_rate", (float)learningRate, (int)step);
        inner.StepDone(step, loss, learningRate);
    }

    /// <inheritdoc/>
    public void EpochDone(EpochRecord r, bool best)
    {
        _writer.add_scalar("epoch/train_loss", (float)r.TrainLoss, r.Epoch);
        _writer.add_scalar("epoch/train_accuracy", (float)r.TrainAccuracy, r.Epoch);
        if (r.ValLoss is { } vl) _writer.add_scalar("epoch/val_loss", (float)vl, r.Epoch);
        if (r.ValAccuracy is { } va) _writer.add_scalar("epoch/val_accuracy", (float)va, r.Epoch);
        _writer.add_scalar("epoch/learning_rate", (float)r.LearningRate, r.Epoch);
        _writer.add_scalar("epoch/images_per_second", (float)r.ImagesPerSecond, r.Epoch);
        _writer.add_scalar("epoch/rss_mb", (float)r.RssMb, r.Epoch);
        _writer.add_scalar("epoch/seconds", (float)r.Seconds, r.Epoch);
        inner.EpochDone(r, best);
    }

    /// <summary>A histogram of every parameter tensor of the weights in <paramref name="weightsPath"/> (the run's checkpoint after an epoch).</summary>
    internal void Weights(RunFolder folder, string weightsPath, int epoch)
    {
        var (net, _) = folder.Load(weightsPath);
        using (net)
        using (NewDisposeScope())
            foreach (var (name, p) in net.named_parameters())
                _writer.add_histogram($"weights/{name}", p.detach(), epoch);
    }

    /// <summary>The confusion matrix and the first misclassified images of <paramref name="set"/> as images, at step <paramref name="epoch"/>.</summary>
    internal void Errors(nn.Module<Tensor, Tensor> net, LabeledImages set, Features.Normalization norm, int epoch, int examples = 32)
    {
        var predicted = Evaluator.ArgMax(Evaluator.Probabilities(net, set.Images, norm));
        var metrics = Metrics.From(predicted, set.Labels);
        var confusion = Path.Combine(Directory, "confusion.png");
        var errors = Path.Combine(Directory, "errors.png");
        Plots.SaveConfusion(metrics.Confusion, ClassNames.All, confusion);
        var wrong = Enumerable.Range(0, set.Count).Where(i => predicted[i] != set.Labels[i]).Take(examples).ToList();
        Plots.SaveImageGrid(wrong.Select(i => set.Image(i).ToArray()).ToList(),
            wrong.Select(i => $"true: {ClassNames.All[set.Labels[i]]}\npred: {ClassNames.All[predicted[i]]}").ToList(), 8, errors);
        _writer.add_img("test/confusion", confusion, epoch);
        _writer.add_img("test/misclassified", errors, epoch);
        _writer.add_scalar("test/accuracy", (float)metrics.Accuracy, epoch);
    }
}
