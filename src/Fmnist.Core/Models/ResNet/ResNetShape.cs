namespace Fmnist.Models.ResNet;

/// <summary>One convolution of the ResNet, for the summary table and the FLOP count.</summary>
internal sealed record ConvShape(string Layer, int In, int Out, int Kernel, int Stride, int OutSide)
{
    /// <summary>Multiply-adds of one image's forward pass through this conv.</summary>
    public long Macs => (long)OutSide * OutSide * Out * In * Kernel * Kernel;
}

/// <summary>
/// The ResNet's layers computed from its config alone: output sizes and multiply-adds, analytically (convs
/// and the linear layer; BN, ReLU, additions and the pool are elementwise and below 1% of the total).
/// </summary>
internal static class ResNetShape
{
    public static IReadOnlyList<ConvShape> Convs(ResNetConfig c)
    {
        var convs = new List<ConvShape> { new("stem", 1, c.Width, 3, 1, 28) };
        int channels = c.Width, side = 28;
        for (int s = 0; s < c.Blocks.Count; s++)
        {
            int outChannels = c.Width << s;
            for (int b = 0; b < c.Blocks[s]; b++)
            {
                int stride = s > 0 && b == 0 ? 2 : 1;
                int outSide = (side + 2 - 3) / stride + 1; // padding 1, kernel 3
                string name = $"s{s + 1}b{b + 1}";
                convs.Add(new($"{name}.conv1", channels, outChannels, 3, stride, outSide));
                convs.Add(new($"{name}.conv2", outChannels, outChannels, 3, 1, outSide));
                if (stride != 1 || channels != outChannels) convs.Add(new($"{name}.shortcut", channels, outChannels, 1, stride, outSide));
                channels = outChannels;
                side = outSide;
            }
        }
        return convs;
    }

    public static int FinalChannels(ResNetConfig c) => c.Width << (c.Blocks.Count - 1);

    /// <summary>Forward FLOPs per image (2 per multiply-add). A training step costs about 3x this.</summary>
    public static long ForwardFlops(ResNetConfig c) => 2 * (Convs(c).Sum(v => v.Macs) + FinalChannels(c) * 10L);
}
