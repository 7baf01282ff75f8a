using Fmnist.Data;
using Fmnist.Features;
using static TorchSharp.torch;

namespace Fmnist.Evaluation;

/// <summary>
/// Inference in eval mode under no_grad, in batches of 256 (larger batches make activations bigger than
/// the malloc reuse threshold set in TorchRuntime, and run slower); the caller's train/eval mode is restored.
/// Images live in one uint8 tensor that batches are narrowed from: copying each batch out to a managed
/// array put ~9 MB of large-object garbage per pass over 12,000 images on the .NET heap, which grew the
/// process by ~18 MB every epoch until a full collection.
/// </summary>
internal static class Evaluator
{
    /// <summary>Standardized (N,1,28,28) float tensor from raw bytes.</summary>
    public static Tensor ToInput(Tensor bytes, Normalization norm) =>
        bytes.to_type(ScalarType.Float32).div_(255.0).sub_(norm.Mean).div_(norm.Std);

    /// <summary>Class probabilities, N*10 row-major.</summary>
    /// <param name="tta">Test-time augmentation: average the softmax over these views of each image
    /// (<see cref="Tta.Views"/>; flips and shifts are part of training, so the views are in-distribution).</param>
    public static float[] Probabilities(nn.Module<Tensor, Tensor> net, byte[] images, Normalization norm, TtaMode tta = TtaMode.None, int batch = 256)
    {
        using var set = ImageTensor(images);
        return Run(net, set, norm, batch, null, tta).Probabilities;
    }

    /// <summary>Mean cross-entropy and accuracy against labels.</summary>
    public static (double Loss, double Accuracy) Score(nn.Module<Tensor, Tensor> net, LabeledImages set, Normalization norm, TtaMode tta = TtaMode.None, int batch = 256)
    {
        using var images = ImageTensor(set.Images);
        using var labels = LabelTensor(set.Labels);
        return Score(net, images, labels, norm, tta, batch);
    }

    /// <summary>Scores images already in tensors (a training run keeps its validation set resident).</summary>
    /// <param name="images">(N,1,28,28) uint8, from <see cref="ImageTensor"/>.</param>
    /// <param name="labels">(N) int64, from <see cref="LabelTensor"/>.</param>
    public static (double Loss, double Accuracy) Score(nn.Module<Tensor, Tensor> net, Tensor images, Tensor labels, Normalization norm, TtaMode tta = TtaMode.None, int batch = 256)
    {
        var r = Run(net, images, norm, batch, labels, tta);
        return (r.Loss, r.Accuracy);
    }

    public static Tensor ImageTensor(byte[] images) => tensor(images, [images.Length / ImageShape.Pixels, 1, 28, 28]);

    public static Tensor LabelTensor(byte[] labels)
    {
        using var bytes = tensor(labels);
        return bytes.to_type(ScalarType.Int64);
    }

    private sealed record Output(float[] Probabilities, double Loss, double Accuracy);

    private static Output Run(nn.Module<Tensor, Tensor> net, Tensor images, Normalization norm, int batch, Tensor? labels, TtaMode tta)
    {
        int n = (int)images.shape[0];
        var probs = new float[n * ClassNames.Count];
        bool wasTraining = net.training;
        net.eval();
        double lossSum = 0;
        long correct = 0;
        var views = Tta.Views(tta);
        using (no_grad())
        {
            for (int start = 0; start < n; start += batch)
            {
                using var scope = NewDisposeScope();
                int count = Math.Min(batch, n - start);
                var raw = images.narrow(0, start, count);
                Tensor? p = null;
                foreach (var view in views)
                {
                    var q = nn.functional.softmax(net.call(ToInput(Tta.Apply(raw, view), norm)), 1);
                    p = p is null ? q : p.add_(q);
                }
                if (views.Count > 1) p!.div_(views.Count);
                p!.data<float>().CopyTo(probs, start * ClassNames.Count);
                if (labels is null) continue;
                var y = labels.narrow(0, start, count);
                lossSum += nn.functional.nll_loss(p.clamp_min(1e-12).log(), y, reduction: nn.Reduction.Sum).item<float>();
                correct += p.argmax(1).eq(y).sum().item<long>();
            }
        }
        if (wasTraining) net.train();
        return new Output(probs, n == 0 ? 0 : lossSum / n, n == 0 ? 0 : (double)correct / n);
    }

    public static byte[] ArgMax(float[] probabilities)
    {
        int n = probabilities.Length / ClassNames.Count;
        var predictions = new byte[n];
        for (int i = 0; i < n; i++)
        {
            var row = probabilities.AsSpan(i * ClassNames.Count, ClassNames.Count);
            int best = 0;
            for (int c = 1; c < row.Length; c++) if (row[c] > row[best]) best = c;
            predictions[i] = (byte)best;
        }
        return predictions;
    }
}
