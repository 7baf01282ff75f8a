using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fmnist.Training.Levers;

/// <summary>
/// Muon for convolution filters (Keller Jordan's airbench94_muon): the Nesterov momentum of the gradient,
/// reshaped to (out, in·k·k), replaced by its nearest semi-orthogonal matrix (a few Newton–Schulz
/// iterations) and applied at a fixed rate. Each filter bank's norm is held at sqrt(out) before the step:
/// a BatchNorm follows every such convolution, so only the filters' direction matters, and a fixed norm keeps
/// the step's angular size set by the rate alone.
/// </summary>
internal sealed class Muon : IDisposable
{
    /// <summary>The quintic iteration's coefficients (public, from the Muon write-up): they push every singular
    /// value in (0, 1] towards a band around 1 in few steps, rather than converging exactly.</summary>
    public const double A = 3.4445, B = -4.7750, C = 2.0315;

    private readonly Parameter[] _params;
    private readonly Tensor[] _buffers;
    private readonly double _momentum;
    private readonly int _steps;

    public Muon(IEnumerable<Parameter> parameters, double momentum, int steps = 5)
    {
        _params = parameters.ToArray();
        _momentum = momentum;
        _steps = steps;
        // Zeros are what a lazily created buffer would start from: the first step's buffer is the gradient.
        _buffers = _params.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
    }

    public IReadOnlyList<Parameter> Parameters => _params;

    /// <summary>The momentum buffers, in parameter order (saved in the checkpoint for an exact resume).</summary>
    public IReadOnlyList<Tensor> Buffers => _buffers;

    public void ZeroGrad()
    {
        foreach (var p in _params) p.grad?.zero_();
    }

    public void Step(double lr)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        for (int i = 0; i < _params.Length; i++)
        {
            var p = _params[i];
            if (p.grad is not { } g) continue;
            var buf = _buffers[i];
            buf.mul_(_momentum).add_(g);
            var update = g.add(buf, alpha: _momentum); // Nesterov: look one momentum step ahead
            long rows = p.shape[0];
            var ortho = NewtonSchulz(update.reshape(rows, -1), _steps).view_as(p);
            float norm = p.norm().item<float>();
            if (norm > 0) p.mul_(Math.Sqrt(rows) / norm); // an all-zero bank has no direction to keep
            p.add_(ortho, alpha: -lr);
        }
    }

    /// <summary>
    /// An approximately semi-orthogonal matrix with <paramref name="g"/>'s singular vectors (U Vᵀ of its SVD):
    /// scaled to Frobenius norm 1 (so every singular value is at most 1), then X ← aX + (bA + cA²)X with A = XXᵀ,
    /// on the wide orientation so that A is the smaller Gram matrix.
    /// </summary>
    public static Tensor NewtonSchulz(Tensor g, int steps = 5)
    {
        using var scope = NewDisposeScope();
        var x = g.to_type(ScalarType.Float32);
        bool tall = x.shape[0] > x.shape[1];
        if (tall) x = x.t();
        x = x.div(x.norm().add(1e-7));
        for (int i = 0; i < steps; i++)
        {
            var a = x.matmul(x.t());
            var b = a.mul(B).add(a.matmul(a), alpha: C);
            x = x.mul(A).add(b.matmul(x));
        }
        if (tall) x = x.t();
        return x.contiguous().MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        foreach (var b in _buffers) b.Dispose();
    }
}
