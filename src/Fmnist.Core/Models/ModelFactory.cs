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
        var net = Networks.Of(c).Create(c);
        ((ILayoutNet)net).ChannelsLast = channelsLast;
        return net;
    }

    /// <summary>Whether <paramref name="net"/> computes in channels-last layout (a copy of it should too).</summary>
    public static bool IsChannelsLast(nn.Module net) => net is ILayoutNet { ChannelsLast: true };

    /// <summary>Number of weights and biases (BatchNorm scales and shifts included, running statistics not).</summary>
    public static long Parameters(nn.Module net) => net.parameters().Sum(p => p.numel());

    /// <summary>Forward FLOPs per image (2 per multiply-add), computed from the layer sizes; a training step
    /// (forward + backward) costs about 3x this.</summary>
    public static long ForwardFlops(ModelConfig c) => Networks.Of(c).ForwardFlops(c);
}
