using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fmnist.Models.LeNet;

/// <summary>
/// LeCun et al.'s LeNet-5 (1998) with ReLU and max-pooling, the classic small baseline: conv 5x5 (padded to keep
/// 28x28), pool, conv 5x5, pool, then three linear layers. Outputs logits.
/// </summary>
internal sealed class LeNetNet : nn.Module<Tensor, Tensor>, ILayoutNet
{
    private readonly Conv2d conv1, conv2;
    private readonly Linear fc1, fc2, output;

    public LeNetNet(LeNetConfig c) : base("LeNet")
    {
        c.Validate();
        conv1 = nn.Conv2d(1, c.Channels[0], 5, padding: 2);
        conv2 = nn.Conv2d(c.Channels[0], c.Channels[1], 5);
        fc1 = nn.Linear(c.Channels[1] * 5 * 5, 120);
        fc2 = nn.Linear(120, 84);
        output = nn.Linear(84, 10);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public bool ChannelsLast { get; set; }

    public override Tensor forward(Tensor x)
    {
        if (ChannelsLast) x = LayoutChoice.ToChannelsLast(x);
        // (B,1,28,28) -> (B,C1,14,14) -> (B,C2,5,5)
        x = nn.functional.max_pool2d(conv1.call(x).relu_(), 2);
        x = nn.functional.max_pool2d(conv2.call(x).relu_(), 2);
        // (B,C2*25), in NCHW order whatever the strides
        x = x.flatten(1);
        return output.call(fc2.call(fc1.call(x).relu_()).relu_());
    }
}
