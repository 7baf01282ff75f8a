using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fmnist.Training.Levers;

/// <summary>
/// Lookahead (Zhang et al. 2019): slow weights that every K optimizer steps move a share alpha towards the
/// fast weights, which are then reset to them. Unlike the EMA (<see cref="WeightAverage"/>), which only
/// watches, it changes the trajectory the optimizer follows. Validation and the saved model use the fast
/// weights, which equal the slow ones after each sync.
/// </summary>
internal sealed class Lookahead : IDisposable
{
    private readonly Parameter[] _fast;
    private readonly Tensor[] _slow;
    private readonly int _k;
    private readonly double _alpha;

    public Lookahead(IEnumerable<Parameter> fast, int k, double alpha)
    {
        _fast = fast.ToArray();
        _k = k;
        _alpha = alpha;
        using var _ = no_grad();
        _slow = _fast.Select(p => p.detach().clone().DetachFromDisposeScope()).ToArray();
    }

    /// <summary>Optimizer steps taken so far (saved in the checkpoint: it decides when the next sync falls).</summary>
    public long Steps { get; set; }

    /// <summary>The slow weights, in parameter order (saved in the checkpoint for an exact resume).</summary>
    public IReadOnlyList<Tensor> Slow => _slow;

    /// <summary>Call after every optimizer step.</summary>
    public void Step()
    {
        if (++Steps % _k != 0) return;
        using var _ = no_grad();
        for (int i = 0; i < _fast.Length; i++)
        {
            _slow[i].add_(_fast[i].sub(_slow[i]), alpha: _alpha);
            _fast[i].copy_(_slow[i]);
        }
    }

    public void Dispose()
    {
        foreach (var s in _slow) s.Dispose();
    }
}
