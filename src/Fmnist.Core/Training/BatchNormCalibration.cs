using Fmnist.Features;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fmnist.Training;

/// <summary>
/// Recomputes every BatchNorm layer's running mean and variance as a plain average over clean training
/// images, with the weights fixed. Eval mode uses these statistics; left to the exponential moving average
/// (momentum 0.1) they lag the weights, and after a short run (a few dozen batches) they are still near
/// their initial values: the model then scores at chance in eval mode although it trained well.
/// Only the BatchNorm layers are put in train mode: dropout stays off, so the pass draws no random numbers
/// and the training run that follows is the same as without calibration.
/// </summary>
internal static class BatchNormCalibration
{
    public const int DefaultImages = 8192;

    /// <param name="images">(N,1,28,28) uint8; the first <paramref name="count"/> images are used.</param>
    public static void Run(nn.Module<Tensor, Tensor> net, Tensor images, Normalization norm, int count = DefaultImages, int batch = 256)
    {
        var layers = net.modules().OfType<NormBase>().ToList();
        if (layers.Count == 0) return;
        count = (int)Math.Min(count, images.shape[0]);
        bool wasTraining = net.training;
        var momenta = layers.Select(l => l.momentum).ToList();
        foreach (var layer in layers)
        {
            layer.reset_running_stats();
            layer.momentum = null; // cumulative average over the batches below
        }
        net.eval();
        foreach (var layer in layers) layer.train();
        using (no_grad())
        {
            for (int start = 0; start < count; start += batch)
            {
                using var scope = NewDisposeScope();
                int n = Math.Min(batch, count - start);
                if (n < 2) break; // a variance needs two values
                net.call(images.narrow(0, start, n).to_type(ScalarType.Float32).div_(255.0).sub_(norm.Mean).div_(norm.Std));
            }
        }
        for (int i = 0; i < layers.Count; i++) layers[i].momentum = momenta[i];
        if (wasTraining) net.train();
        else net.eval();
    }
}
