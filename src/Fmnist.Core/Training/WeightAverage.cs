using Fmnist.Models;
using Fmnist.Models.CnnLstm;
using static TorchSharp.torch;

namespace Fmnist.Training;

/// <summary>
/// An exponential moving average of a network's weights (Polyak averaging), kept in a second network of the
/// same config: ema = d * ema + (1 - d) * weights after every optimizer step. Validation and the saved model
/// use it. BatchNorm buffers are not averaged: they are recomputed on the averaged weights before every use
/// (see <see cref="BatchNormCalibration"/>), since statistics gathered under other weights do not fit them.
/// </summary>
internal sealed class WeightAverage : IDisposable
{
    private readonly nn.Module<Tensor, Tensor> _source;
    private readonly double _decay;

    public nn.Module<Tensor, Tensor> Net { get; }

    public WeightAverage(nn.Module<Tensor, Tensor> source, ModelConfig config, double decay)
    {
        _source = source;
        _decay = decay;
        Net = ModelFactory.Create(config, ModelFactory.IsChannelsLast(source));
        using var _ = no_grad();
        foreach (var (avg, w) in Net.parameters().Zip(source.parameters()))
        {
            avg.copy_(w);
            avg.requires_grad = false;
        }
        Net.eval();
    }

    /// <summary>
    /// The decay used at update number <paramref name="updates"/> (0-based): min(d, (1+n)/(10+n)), TensorFlow's
    /// ExponentialMovingAverage warm-up. Early on the average then follows the weights closely instead of
    /// dragging their random initial values along for the first ~1/(1-d) steps, which matters in short runs.
    /// </summary>
    public static double DecayAt(double decay, long updates) => Math.Min(decay, (1.0 + updates) / (10.0 + updates));

    /// <param name="updates">How many updates came before this one: the global step number, so a resumed
    /// run continues the same warm-up without storing a counter.</param>
    public void Update(long updates)
    {
        double d = DecayAt(_decay, updates);
        using var _ = no_grad();
        foreach (var (avg, w) in Net.parameters().Zip(_source.parameters()))
            avg.mul_(d).add_(w, alpha: 1 - d);
    }

    public void Dispose() => Net.Dispose();
}
