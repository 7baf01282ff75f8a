using System.Diagnostics;
using Fmnist.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fmnist.Models.CnnLstm;

/// <summary>One layer's share of a training step: forward, and backward (gradients of its input and weights).</summary>
internal sealed record LayerTime(string Layer, string Input, double ForwardMs, double BackwardMs, double? ChannelsLastForwardMs, double? ChannelsLastBackwardMs)
{
    public double TotalMs => ForwardMs + BackwardMs;
}

/// <summary>
/// Where a CNN+LSTM training step's time goes: each layer of the seed network run alone on a batch of the
/// shape it sees in the network, forward then backward, median of several repetitions after a warm-up. The
/// convolutions, BatchNorms and pools are also timed in channels-last layout (NHWC strides on the input, and
/// on the weights of a convolution, which makes oneDNN pick its channels-last kernels; see
/// <see cref="Models.LayoutChoice.ToChannelsLast"/>). Elementwise layers between them (ReLU, dropout) are left out: they are cheap.
/// </summary>
internal static class LayerTimer
{
    public static IReadOnlyList<LayerTime> Run(CnnLstmConfig c, int batch, int repetitions = 7)
    {
        TorchRuntime.BeforeFirstUse();
        manual_seed(1);
        using var scope = NewDisposeScope();
        // The network's own modules (not a copy of its layer list), each fed the shape it sees in forward().
        using var net = new CnnLstmNet(c);
        var m = net.named_children().ToDictionary(x => x.name, x => x.module);
        Conv2d Conv2(string name) => (Conv2d)m[name];
        nn.Module<Tensor, Tensor> Layer(string name) => (nn.Module<Tensor, Tensor>)m[name];
        int f1 = c.Filters1, f2 = c.Filters2;
        var rows = new List<LayerTime>
        {
            Conv("conv1a", Conv2("conv1a"), [batch, 1, 28, 28], repetitions),
            Conv("conv1b", Conv2("conv1b"), [batch, f1, 28, 28], repetitions),
            Spatial("bn1", Layer("bn1"), [batch, f1, 28, 28], repetitions),
            Spatial("pool1", Layer("pool"), [batch, f1, 28, 28], repetitions),
            Conv("conv2a", Conv2("conv2a"), [batch, f1, 14, 14], repetitions),
            Conv("conv2b", Conv2("conv2b"), [batch, f2, 14, 14], repetitions),
            Spatial("bn2", Layer("bn2"), [batch, f2, 14, 14], repetitions),
            Spatial("pool2", Layer("pool"), [batch, f2, 14, 14], repetitions),
        };
        var lstm = (LSTM)m["lstm"];
        rows.Add(Time("lstm", [batch, 7, f2 * 7], x => lstm.call(x, null).Item1, repetitions, null));
        rows.Add(Plain("dense", Layer("dense"), [batch, 7 * c.Lstm], repetitions));
        rows.Add(Plain("output", Layer("output"), [batch, c.Dense], repetitions));
        return rows;
    }

    private static LayerTime Plain(string name, nn.Module<Tensor, Tensor> layer, long[] shape, int reps)
    {
        layer.train();
        return Time(name, shape, layer.call, reps, null);
    }

    /// <summary>A BatchNorm or pooling layer, in both layouts.</summary>
    private static LayerTime Spatial(string name, nn.Module<Tensor, Tensor> layer, long[] shape, int reps) =>
        WithChannelsLast(Plain(name, layer, shape, reps), shape, layer.call, reps);

    private static LayerTime Conv(string name, Conv2d conv, long[] shape, int reps)
    {
        var plain = Time(name, shape, conv.call, reps, null);
        // The same weights in NHWC strides.
        using (no_grad()) conv.weight = new Parameter(Models.LayoutChoice.ToChannelsLast(conv.weight!.detach()));
        return WithChannelsLast(plain, shape, conv.call, reps);
    }

    /// <summary><paramref name="plain"/> with the same layer's times on channels-last input added.</summary>
    private static LayerTime WithChannelsLast(LayerTime plain, long[] shape, Func<Tensor, Tensor> forward, int reps)
    {
        var last = Time(plain.Layer, shape, forward, reps, Models.LayoutChoice.ToChannelsLast);
        return plain with { ChannelsLastForwardMs = last.ForwardMs, ChannelsLastBackwardMs = last.BackwardMs };
    }

    private static LayerTime Time(string name, long[] shape, Func<Tensor, Tensor> forward, int reps, Func<Tensor, Tensor>? layout)
    {
        var fwd = new List<double>();
        var bwd = new List<double>();
        for (int r = 0; r < reps + 2; r++)
        {
            using var scope = NewDisposeScope();
            var x = randn(shape);
            if (layout is not null) x = layout(x);
            x.requires_grad_(true);
            var watch = Stopwatch.StartNew();
            var y = forward(x);
            double f = watch.Elapsed.TotalMilliseconds;
            var g = ones_like(y);
            watch.Restart();
            y.backward([g]);
            double b = watch.Elapsed.TotalMilliseconds;
            if (r < 2) continue; // warm-up: oneDNN builds its kernels on first use
            fwd.Add(f);
            bwd.Add(b);
        }
        return new LayerTime(name, $"({string.Join(",", shape)})", Median(fwd), Median(bwd), null, null);
    }

    private static double Median(List<double> v)
    {
        v.Sort();
        return v[v.Count / 2];
    }
}
