using Fmnist.Models.CnnLstm;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fmnist.Models.Speed;

/// <summary>
/// A network for training in few epochs, after the CIFAR-10 speedruns (airbench, hlb-CIFAR10), sized for
/// 28x28 grey images: a frozen whitening convolution whose filters are the eigenvectors of the training
/// images' pxp patch covariance (each scaled by 1/sqrt(eigenvalue), and its negative beside it), then GELU,
/// then one group of convolutions per width (3x3 conv, 2x2 max-pool, BatchNorm, GELU, then depth-1 times
/// 3x3 conv, BatchNorm, GELU), a global max-pool, one bias-free linear layer and a fixed logit scale.
/// BatchNorm scales are frozen at 1 (only the shift learns); in every 3x3 conv the first min(in, out) filters
/// start as the identity (dirac: output channel i copies input channel i), the others randomly. Outputs logits.
/// </summary>
internal sealed class SpeedNet : nn.Module<Tensor, Tensor>, ILayoutNet
{
    private readonly Conv2d whiten;
    private readonly Sequential groups;
    private readonly Linear output;
    private readonly double _logitScale;
    private readonly int _patch;

    public SpeedNet(SpeedConfig c) : base("Speed")
    {
        c.Validate();
        _patch = c.WhitenPatch;
        _logitScale = c.LogitScale;
        whiten = nn.Conv2d(1, SpeedShape.WhitenChannels(c), c.WhitenPatch, bias: true);
        var list = new List<(string, nn.Module<Tensor, Tensor>)>();
        int channels = SpeedShape.WhitenChannels(c);
        for (int g = 0; g < c.Widths.Count; g++)
        {
            list.Add(($"g{g + 1}", new ConvGroup(channels, c.Widths[g], c.Depth)));
            channels = c.Widths[g];
        }
        groups = nn.Sequential(list);
        output = nn.Linear(channels, 10, hasBias: false);
        RegisterComponents();

        using var _ = no_grad();
        whiten.weight!.requires_grad = false; // set from the data by InitWhitening, never trained
        foreach (var bn in modules().OfType<BatchNorm2d>()) bn.weight!.requires_grad = false;
        foreach (var conv in groups.modules().OfType<Conv2d>())
        {
            // dirac on the first in-channels outputs: the group starts close to passing its input through
            var w = conv.weight!;
            long n = Math.Min(w.shape[0], w.shape[1]);
            nn.init.dirac_(w.narrow(0, 0, n));
        }
    }

    /// <summary>Sets the whitening filters from standardized training images (B,1,28,28): the eigenvectors
    /// of the covariance of every pxp patch, scaled to unit variance (eps 5e-4 keeps the smallest finite),
    /// each followed by its negative so that the GELU after it loses no sign. Deterministic for given images.</summary>
    public void InitWhitening(Tensor images)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var weight = Whitening.Filters(images, _patch);
        whiten.weight!.copy_(weight);
        whiten.bias!.zero_();
    }

    /// <summary>The frozen whitening filters (2p², 1, p, p).</summary>
    public Tensor WhiteningWeight => whiten.weight!;

    /// <inheritdoc/>
    public bool ChannelsLast { get; set; }

    public override Tensor forward(Tensor x)
    {
        if (ChannelsLast) x = LayoutChoice.ToChannelsLast(x);
        // (B,1,28,28) -> (B,2p²,28-p+1,..)
        x = nn.functional.gelu(whiten.call(x));
        // -> (B,Wlast,s,s), each group halving the side
        x = groups.call(x);
        // (B,C,s,s) -> (B,C): global max pool
        x = x.amax([2, 3]);
        return output.call(x).mul_(_logitScale);
    }
}

/// <summary>conv3x3 (no bias) - maxpool 2 - BN - GELU, then (depth-1) x [conv3x3 - BN - GELU].</summary>
internal sealed class ConvGroup : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<Conv2d> convs;
    private readonly ModuleList<BatchNorm2d> norms;

    public ConvGroup(int inChannels, int outChannels, int depth) : base("ConvGroup")
    {
        convs = new ModuleList<Conv2d>();
        norms = new ModuleList<BatchNorm2d>();
        for (int i = 0; i < depth; i++)
        {
            convs.Add(nn.Conv2d(i == 0 ? inChannels : outChannels, outChannels, 3, padding: 1, bias: false));
            norms.Add(nn.BatchNorm2d(outChannels));
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        for (int i = 0; i < convs.Count; i++)
        {
            x = convs[i].call(x);
            if (i == 0) x = nn.functional.max_pool2d(x, 2);
            x = nn.functional.gelu(norms[i].call(x));
        }
        return x;
    }
}
