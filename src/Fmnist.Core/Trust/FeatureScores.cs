using System.Runtime.CompilerServices;
using Fmnist.Data;
using Fmnist.Evaluation;
using Fmnist.Features;
using Fmnist.Inference;
using static TorchSharp.torch;

namespace Fmnist.Trust;

/// <summary>
/// Two OOD scores that read a network's inside: the energy score (Liu et al. 2020: −logsumexp of the logits), measured
/// by the benchmark only, and the feature-space Mahalanobis distance (Lee et al. 2018: to the nearest class mean of the
/// penultimate features, under their shared covariance fitted on the run's training share), which the recognition rule
/// of a TorchSharp run folder adds (<see cref="TrustInfo.OodWithFeatures"/>). Both need the logits or the features,
/// which an ensemble's mean and ONNX files do not expose, so they exist only for a TorchSharp run folder; the fitted
/// means and inverse covariance are kept in <see cref="FileName"/> beside trust.json.
/// </summary>
internal sealed class FeatureScores
{
    /// <summary>The file in a run folder holding the class means and the inverse covariance (float64, little-endian).</summary>
    public const string FileName = "trust-features.bin";

    // Every network's final layer is a Linear named "output"; its input is the penultimate feature vector.
    private const string OutputLayer = "output";

    // The hook stays registered for the model's life (adding and removing hooks while serve's batcher runs the same
    // module would change its hook table under it); it records only on the thread that asked, so a forward pass of
    // another thread never lands in this one's features.
    [ThreadStatic] private static List<float>? t_captured;

    private readonly nn.Module<Tensor, Tensor> _net;
    private readonly Normalization _norm;
    private readonly double[] _means;      // 10 x D class means
    private readonly double[] _precision;  // D x D inverse of the shared covariance
    private readonly int _dim;

    private FeatureScores(nn.Module<Tensor, Tensor> net, Normalization norm, double[] means, double[] precision, int dim)
    {
        _net = net;
        _norm = norm;
        _means = means;
        _precision = precision;
        _dim = dim;
        Hook(net);
    }

    private static readonly ConditionalWeakTable<nn.Module<Tensor, Tensor>, object> Hooked = new();

    /// <summary>Registers the recording hook on <paramref name="net"/>'s output layer, once per module.</summary>
    private static void Hook(nn.Module<Tensor, Tensor> net)
    {
        lock (Hooked)
        {
            if (Hooked.TryGetValue(net, out _)) return;
            var layer = net.named_modules().First(m => m.name == OutputLayer).module as nn.Module<Tensor, Tensor>
                        ?? throw new InvalidOperationException($"{OutputLayer} is not a tensor-to-tensor module");
            layer.register_forward_hook((_, input, output) =>
            {
                t_captured?.AddRange(input.to_type(ScalarType.Float32).contiguous().data<float>().ToArray());
                return output;
            });
            Hooked.Add(net, new object());
        }
    }

    /// <summary>The TorchSharp run behind <paramref name="model"/> (calibrated or with test-time views; the features are
    /// of the image itself); null for an ONNX file or an ensemble.</summary>
    public static TorchClassifier? Torch(IClassifier model) => Classifiers.Unwrapped(model) as TorchClassifier;

    /// <summary>Fits the class means and the shared covariance of <paramref name="model"/>'s features on
    /// <paramref name="fit"/>; null unless it is a TorchSharp run folder.</summary>
    public static FeatureScores? Fit(IClassifier model, LabeledImages fit)
    {
        if (Torch(model) is not { } torch || fit.Count == 0) return null;
        var (features, _) = Forward(torch.Net, torch.Info.Normalization, fit.Images);
        int n = fit.Count, d = features.Length / n, k = ClassNames.Count;
        var means = new double[k * d];
        var counts = new int[k];
        for (int i = 0; i < n; i++)
        {
            int c = fit.Labels[i];
            counts[c]++;
            for (int j = 0; j < d; j++) means[c * d + j] += features[i * d + j];
        }
        for (int c = 0; c < k; c++)
            for (int j = 0; j < d; j++) means[c * d + j] /= Math.Max(1, counts[c]);
        // The covariance of the features about their own class's mean, in double.
        using var scope = NewDisposeScope();
        var centred = new double[n * d];
        for (int i = 0; i < n; i++)
        {
            int c = fit.Labels[i];
            for (int j = 0; j < d; j++) centred[i * d + j] = features[i * d + j] - means[c * d + j];
        }
        var x = tensor(centred, [n, d]);
        var covariance = x.t().matmul(x).div_(n);
        // A small ridge keeps dimensions that ReLU left always zero from making it singular.
        var ridge = eye(d, dtype: ScalarType.Float64).mul_(1e-6 * covariance.diagonal().mean().item<double>());
        var precision = linalg.inv(covariance + ridge).data<double>().ToArray();
        return new FeatureScores(torch.Net, torch.Info.Normalization, means, precision, d);
    }

    /// <summary>The scores saved in the run folder of <paramref name="model"/>, whose trust.json has a rule with the
    /// feature check; null when it is not a TorchSharp run (an ONNX file or an ensemble, which apply the other rule).</summary>
    public static FeatureScores? Load(IClassifier model)
    {
        if (Torch(model) is not { } torch) return null;
        var path = Path.Combine(torch.Description.Source, FileName);
        if (!File.Exists(path))
            throw new FmnistException($"{path}: missing (trust.json names a feature check; `fmnist calibrate --model {torch.Description.Source} --refit` writes both again)");
        var bytes = File.ReadAllBytes(path);
        int k = ClassNames.Count;
        var values = new double[bytes.Length / sizeof(double)];
        Buffer.BlockCopy(bytes, 0, values, 0, values.Length * sizeof(double));
        // k*d + d*d values: d is the positive root of d² + k·d − n = 0.
        int d = (int)Math.Round((-k + Math.Sqrt(k * k + 4.0 * values.Length)) / 2);
        if (bytes.Length % sizeof(double) != 0 || d <= 0 || k * d + d * d != values.Length)
            throw new FmnistException($"{path}: not a feature file ({bytes.Length} bytes)");
        return new FeatureScores(torch.Net, torch.Info.Normalization, values[..(k * d)], values[(k * d)..], d);
    }

    /// <summary>Writes the means and inverse covariance into <paramref name="folder"/> (atomically).</summary>
    public void Save(string folder)
    {
        var values = _means.Concat(_precision).ToArray();
        var bytes = new byte[values.Length * sizeof(double)];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        AtomicFile.WriteAllBytes(Path.Combine(folder, FileName), bytes);
    }

    /// <summary>Per image (N*784 bytes): the energy score and the Mahalanobis distance, each higher for less garment-like.</summary>
    public (double[] Energy, double[] Mahalanobis) Score(byte[] images)
    {
        var (features, logits) = Forward(_net, _norm, images);
        int n = images.Length / ImageShape.Pixels, k = ClassNames.Count;
        if (features.Length != n * _dim) throw new InvalidOperationException($"{features.Length / Math.Max(1, n)} features per image where the file has {_dim}");
        var energy = new double[n];
        for (int i = 0; i < n; i++)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int c = 0; c < k; c++) max = Math.Max(max, logits[i * k + c]);
            for (int c = 0; c < k; c++) sum += Math.Exp(logits[i * k + c] - max);
            energy[i] = -(max + Math.Log(sum));
        }
        return (energy, Mahalanobis(features, n));
    }

    /// <summary>The Mahalanobis distance to the nearest class mean of the first <paramref name="count"/> feature rows.</summary>
    public double[] Mahalanobis(ReadOnlySpan<float> features, int count)
    {
        int d = _dim, k = ClassNames.Count;
        var distance = new double[count];
        var delta = new double[d];
        for (int i = 0; i < count; i++)
        {
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
        return distance;
    }

    /// <summary>
    /// <paramref name="model"/>'s probabilities of <paramref name="images"/>, with the penultimate features its own
    /// forward pass computed on the way (N*D), so a server's batch needs no second pass for the feature check. The
    /// features are null when that pass is not one row per image (test-time views) or ran another network.
    /// </summary>
    public (float[] Probabilities, float[]? Features) ProbabilitiesWithFeatures(IClassifier model, byte[] images)
    {
        // Every hooked network records into the thread's list: only this one's pass may run while it listens.
        if (Torch(model)?.Net != _net) return (model.Probabilities(images), null);
        var features = new List<float>();
        float[] probabilities;
        t_captured = features;
        try
        {
            probabilities = model.Probabilities(images);
        }
        finally
        {
            t_captured = null;
        }
        return (probabilities, features.Count == images.Length / ImageShape.Pixels * _dim ? [.. features] : null);
    }

    /// <summary>The penultimate features (N*D) and the logits (N*10) of raw images, in eval mode, batches of 256.</summary>
    private static (float[] Features, float[] Logits) Forward(nn.Module<Tensor, Tensor> net, Normalization norm, byte[] images)
    {
        int n = images.Length / ImageShape.Pixels;
        var logits = new List<float>(n * ClassNames.Count);
        bool wasTraining = net.training;
        net.eval();
        var features = new List<float>();
        Hook(net);
        t_captured = features;
        try
        {
            using var noGrad = no_grad();
            using var all = Evaluator.ImageTensor(images);
            for (int start = 0; start < n; start += 256)
            {
                using var scope = NewDisposeScope();
                var batch = all.narrow(0, start, Math.Min(256, n - start));
                var output = net.call(Evaluator.ToInput(batch, norm));
                logits.AddRange(output.to_type(ScalarType.Float32).contiguous().data<float>().ToArray());
            }
        }
        finally
        {
            t_captured = null;
            if (wasTraining) net.train();
        }
        return ([.. features], [.. logits]);
    }
}
