using Fmnist.Models;
using Fmnist.Models.CnnLstm;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fmnist.Training;

/// <summary>Number format of the training step's forward and backward pass; weights and the optimizer stay fp32.
/// Auto: bf16 where the CPU computes it natively, fp32 elsewhere (<c>PrecisionChoice</c>).</summary>
public enum Precision
{
    /// <summary>bf16 where the CPU computes it natively (and faster), fp32 elsewhere.</summary>
    Auto,
    /// <summary>32-bit floats.</summary>
    Fp32,
    /// <summary>bfloat16: fp32's range with an 8-bit mantissa.</summary>
    Bf16,
}

/// <summary>
/// bfloat16 compute with fp32 master weights, by hand (TorchSharp has no autocast): a bf16 copy of the
/// network receives the fp32 weights before each step, runs forward and backward, and its gradients are
/// handed back as fp32 to the master weights, which the optimizer updates. bf16 keeps fp32's exponent range,
/// so no loss scaling is needed. Its BatchNorm running statistics are never used: the fp32 network's are
/// recomputed before every evaluation (see <see cref="BatchNormCalibration"/>).
/// </summary>
internal sealed class Bf16Compute : IDisposable
{
    private readonly Parameter[] _master, _low;

    public nn.Module<Tensor, Tensor> Net { get; }

    public Bf16Compute(nn.Module<Tensor, Tensor> master, ModelConfig config)
    {
        Net = ModelFactory.Create(config, ModelFactory.IsChannelsLast(master));
        Net.to(ScalarType.BFloat16);
        _master = master.parameters().ToArray();
        _low = Net.parameters().ToArray();
    }

    /// <summary>Rounds the current fp32 weights into the bf16 copy.</summary>
    public void PullWeights()
    {
        using var _ = no_grad();
        for (int i = 0; i < _master.Length; i++) _low[i].copy_(_master[i]);
    }

    /// <summary>The bf16 copy's gradients, as fp32, become the master weights' gradients.</summary>
    public void PushGradients()
    {
        for (int i = 0; i < _master.Length; i++)
        {
            using var g = _low[i].grad;
            if (g is null) continue;
            _master[i].grad = g.to_type(ScalarType.Float32);
        }
    }

    public void Dispose() => Net.Dispose();
}
