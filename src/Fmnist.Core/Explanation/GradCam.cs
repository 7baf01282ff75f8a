using Fmnist.Data;
using Fmnist.Evaluation;
using Fmnist.Features;
using Fmnist.Inference;
using static TorchSharp.torch;

namespace Fmnist.Explanations;

/// <summary>
/// Grad-CAM (Selvaraju et al. 2017) for fmnist's own TorchSharp networks: the last convolutional feature map,
/// each channel weighted by the mean gradient of the class's logit over it, summed, ReLU'd and stretched
/// bilinearly to 28x28. It reads the network's inside, so it exists only for a TorchSharp run folder; an ONNX
/// file or an ensemble gets occlusion alone.
/// </summary>
internal static class GradCam
{
    /// <summary>The submodule whose output is the last convolutional feature map (<see cref="Models.INetwork.GradCamLayer"/>).</summary>
    public static string Layer(Models.ModelConfig config) => Models.Networks.Of(config).GradCamLayer;

    /// <summary>
    /// The 28x28 map (row-major) for each image and label, scaled so that its largest value is 1 (all zeros when
    /// no channel speaks for the class); null unless <paramref name="model"/> is a TorchSharp run folder of a network <see cref="Layer"/> knows.
    /// </summary>
    public static IReadOnlyList<float[]>? Compute(IClassifier model, byte[] images, IReadOnlyList<int> labels)
    {
        // A temperature scales every logit alike, so the normalized map is the same with or without it.
        if (model is CalibratedClassifier calibrated) model = calibrated.Inner;
        if (model is not TorchClassifier { Net: var net } torch) return null;
        var name = Layer(torch.Info.Config.Model);
        int n = images.Length / ImageShape.Pixels;
        if (labels.Count != n) throw new ArgumentException($"{labels.Count} labels for {n} images", nameof(labels));
        // In chunks: the backward pass keeps every activation of the chunk alive.
        const int chunk = 64;
        return [.. Enumerable.Range(0, (n + chunk - 1) / chunk).SelectMany(c =>
        {
            int start = c * chunk, count = Math.Min(chunk, n - start);
            return Chunk(net, torch.Info.Normalization, name, images.AsSpan(start * ImageShape.Pixels, count * ImageShape.Pixels).ToArray(),
                [.. labels.Skip(start).Take(count)]);
        })];
    }

    private static IEnumerable<float[]> Chunk(nn.Module<Tensor, Tensor> net, Normalization norm, string name, byte[] images, IReadOnlyList<int> labels)
    {
        int n = labels.Count;
        var layer = net.named_modules().First(m => m.name == name).module as nn.Module<Tensor, Tensor>
                    ?? throw new InvalidOperationException($"{name} is not a tensor-to-tensor module");
        bool wasTraining = net.training;
        net.eval();
        Tensor? captured = null;
        var hook = layer.register_forward_hook((_, _, output) =>
        {
            captured = output;
            return output;
        });
        try
        {
            using var scope = NewDisposeScope();
            using var grad = enable_grad();
            using var raw = Evaluator.ImageTensor(images);
            var logits = net.call(Evaluator.ToInput(raw, norm));
            var features = captured ?? throw new InvalidOperationException($"{name} did not run");
            // The sum of each image's own class logit: in eval mode image i's logit depends only on image i's features.
            var index = tensor(labels.Select(l => (long)l).ToArray()).unsqueeze(1);
            var score = logits.gather(1, index).sum();
            var gradients = autograd.grad([score], [features])[0];
            // (B,C,h,w) -> (B,C,1,1): each channel's weight is its mean gradient
            var weights = gradients.mean([2, 3], keepdim: true);
            // (B,C,h,w) -> (B,1,h,w) -> (B,1,28,28)
            var cam = nn.functional.relu((weights * features).sum(1, keepdim: true));
            cam = nn.functional.interpolate(cam, [ImageShape.Side, ImageShape.Side], mode: InterpolationMode.Bilinear, align_corners: false);
            // (B,1,28,28) -> (B,784), each row divided by its own maximum
            cam = cam.reshape(n, -1).to_type(ScalarType.Float32);
            cam = cam / cam.amax([1], keepdim: true).clamp_min(1e-12);
            var values = cam.detach().data<float>().ToArray();
            return [.. Enumerable.Range(0, n).Select(i => values.AsSpan(i * ImageShape.Pixels, ImageShape.Pixels).ToArray())];
        }
        finally
        {
            hook.remove();
            if (wasTraining) net.train();
        }
    }
}
