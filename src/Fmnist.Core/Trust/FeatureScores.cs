using Fmnist.Data;
using Fmnist.Evaluation;
using Fmnist.Features;
using Fmnist.Inference;
using static TorchSharp.torch;

namespace Fmnist.Trust;

/// <summary>
/// Two OOD scores that read a network's inside, measured by the benchmark but not used by the rule: the energy score
/// (Liu et al. 2020: −logsumexp of the logits) and the feature-space Mahalanobis distance (Lee et al. 2018: to the
/// nearest class mean of the penultimate features, under their shared covariance fitted on the run's training share).
/// Both need the logits or the features, which an ensemble's mean, test-time views and ONNX files do not expose, so
/// they exist only for a TorchSharp run folder.
/// </summary>
internal sealed class FeatureScores
{
    // Every network's final layer is a Linear named "output"; its input is the penultimate feature vector.
    private const string OutputLayer = "output";

    private readonly nn.Module<Tensor, Tensor> _net;
    private readonly Normalization _norm;
    private readonly double[] _means;      // 10 x D class means
    private readonly double[] _precision;  // D x D inverse of the shared covariance
    private readonly int _dim;

    private FeatureScores(nn.Module<Tensor, Tensor> net, Normalization norm, LabeledImages fit)
    {
        _net = net;
        _norm = norm;
        var (features, _) = Forward(fit.Images);
        _dim = features.Length / fit.Count;
        int n = fit.Count, d = _dim, k = ClassNames.Count;
        _means = new double[k * d];
        var counts = new int[k];
        for (int i = 0; i < n; i++)
        {
            int c = fit.Labels[i];
            counts[c]++;
            for (int j = 0; j < d; j++) _means[c * d + j] += features[i * d + j];
        }
        for (int c = 0; c < k; c++)
            for (int j = 0; j < d; j++) _means[c * d + j] /= Math.Max(1, counts[c]);
        // The covariance of the features about their own class's mean, in double on the CPU.
        using var scope = NewDisposeScope();
        var centred = new double[n * d];
        for (int i = 0; i < n; i++)
        {
            int c = fit.Labels[i];
            for (int j = 0; j < d; j++) centred[i * d + j] = features[i * d + j] - _means[c * d + j];
        }
        var x = tensor(centred, [n, d]);
        var covariance = x.t().matmul(x).div_(n);
        // A small ridge keeps dimensions that ReLU left always zero from making it singular.
        var ridge = eye(d, dtype: ScalarType.Float64).mul_(1e-6 * covariance.diagonal().mean().item<double>());
        _precision = linalg.inv(covariance + ridge).data<double>().ToArray();
    }

    /// <summary>The scores of <paramref name="model"/> fitted on <paramref name="fit"/>; null unless it is a TorchSharp
    /// run folder (calibrated or not).</summary>
    public static FeatureScores? Of(IClassifier model, LabeledImages fit)
    {
        if (model is CalibratedClassifier calibrated) model = calibrated.Inner;
        return model is TorchClassifier torch ? new FeatureScores(torch.Net, torch.Info.Normalization, fit) : null;
    }

    /// <summary>Per image (N*784 bytes): the energy score and the Mahalanobis distance, each higher for less garment-like.</summary>
    public (double[] Energy, double[] Mahalanobis) Score(byte[] images)
    {
        var (features, logits) = Forward(images);
        int n = images.Length / ImageShape.Pixels, d = _dim, k = ClassNames.Count;
        var energy = new double[n];
        var distance = new double[n];
        var delta = new double[d];
        for (int i = 0; i < n; i++)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int c = 0; c < k; c++) max = Math.Max(max, logits[i * k + c]);
            for (int c = 0; c < k; c++) sum += Math.Exp(logits[i * k + c] - max);
            energy[i] = -(max + Math.Log(sum));
            double best = double.PositiveInfinity;
            for (int c = 0; c < k; c++)
            {
                for (int j = 0; j < d; j++) delta[j] = features[i * d + j] - _means[c * d + j];
                double m = 0;
                for (int a = 0; a < d; a++)
                {
                    double row = 0;
                    for (int b = 0; b < d; b++) row += _precision[a * d + b] * delta[b];
                    m += delta[a] * row;
                }
                best = Math.Min(best, m);
            }
            distance[i] = best;
        }
        return (energy, distance);
    }

    /// <summary>The penultimate features (N*D) and the logits (N*10) of raw images, in eval mode, batches of 256.</summary>
    private (float[] Features, float[] Logits) Forward(byte[] images)
    {
        var layer = _net.named_modules().First(m => m.name == OutputLayer).module as nn.Module<Tensor, Tensor>
                    ?? throw new InvalidOperationException($"{OutputLayer} is not a tensor-to-tensor module");
        int n = images.Length / ImageShape.Pixels;
        var features = new List<float>();
        var logits = new List<float>();
        bool wasTraining = _net.training;
        _net.eval();
        float[]? captured = null;
        var hook = layer.register_forward_hook((_, input, output) =>
        {
            captured = input.to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
            return output;
        });
        try
        {
            using var noGrad = no_grad();
            using var all = Evaluator.ImageTensor(images);
            for (int start = 0; start < n; start += 256)
            {
                using var scope = NewDisposeScope();
                var batch = all.narrow(0, start, Math.Min(256, n - start));
                var output = _net.call(Evaluator.ToInput(batch, _norm));
                features.AddRange(captured ?? throw new InvalidOperationException($"{OutputLayer} did not run"));
                logits.AddRange(output.to_type(ScalarType.Float32).contiguous().data<float>().ToArray());
            }
        }
        finally
        {
            hook.remove();
            if (wasTraining) _net.train();
        }
        return ([.. features], [.. logits]);
    }
}
