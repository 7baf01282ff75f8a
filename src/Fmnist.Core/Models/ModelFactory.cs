using Fmnist.Models.CnnLstm;
using Fmnist.Models.ResNet;
using static TorchSharp.torch;

namespace Fmnist.Models;

/// <summary>The one place that turns a model config into a network: every command builds through here, so
/// train, bench, evaluate, predict, summary and sweep work with any architecture.</summary>
internal static class ModelFactory
{
    /// <param name="layout">The memory layout it computes in; <see cref="MemoryLayout.Auto"/> = the one this CPU runs faster (<see cref="LayoutChoice"/>).</param>
    public static nn.Module<Tensor, Tensor> Create(ModelConfig c, MemoryLayout layout = MemoryLayout.Auto) =>
        Create(c, LayoutChoice.Resolve(layout).ChannelsLast);

    public static nn.Module<Tensor, Tensor> Create(ModelConfig c, bool channelsLast)
    {
        nn.Module<Tensor, Tensor> net = c.Arch switch
        {
            ModelArch.ResNet => new ResNetNet(c),
            ModelArch.Speed => new Speed.SpeedNet(c),
            _ => new CnnLstmNet(c),
        };
        ((ILayoutNet)net).ChannelsLast = channelsLast;
        return net;
    }

    /// <summary>Whether <paramref name="net"/> computes in channels-last layout (a copy of it should too).</summary>
    public static bool IsChannelsLast(nn.Module net) => net is ILayoutNet { ChannelsLast: true };

    /// <summary>Number of weights and biases (BatchNorm scales and shifts included, running statistics not).</summary>
    public static long Parameters(nn.Module net) => net.parameters().Sum(p => p.numel());

    /// <summary>Forward FLOPs per image (2 per multiply-add), computed from the layer sizes; a training step
    /// (forward + backward) costs about 3x this.</summary>
    public static long ForwardFlops(ModelConfig c)
    {
        if (c.Arch == ModelArch.ResNet) return ResNetShape.ForwardFlops(c);
        if (c.Arch == ModelArch.Speed) return Speed.SpeedShape.ForwardFlops(c);
        long f1 = c.Filters1, f2 = c.Filters2, h = c.Lstm;
        long convs = 28 * 28 * f1 * 9 * (1 + f1) + 14 * 14 * f2 * 9 * (f1 + f2);
        long lstm = 7 * 4 * h * (f2 * 7 + h); // 7 steps, 4 gates, input and recurrent matrices
        long dense = 7 * h * c.Dense + c.Dense * 10;
        return 2 * (convs + lstm + dense);
    }
}
