using Fmnist.Models.ResNet;

namespace Fmnist.Models.Speed;

/// <summary>The speed network's layers from its config alone: sides, channels, multiply-adds.</summary>
internal static class SpeedShape
{
    public static int WhitenChannels(SpeedConfig c) => 2 * c.WhitenPatch * c.WhitenPatch;

    /// <summary>Side of the whitening layer's output (no padding).</summary>
    public static int WhitenSide(SpeedConfig c) => 28 - c.WhitenPatch + 1;

    /// <summary>Every convolution, with its output side (the first conv of a group runs before its pool).</summary>
    public static IReadOnlyList<ConvShape> Convs(SpeedConfig c)
    {
        var convs = new List<ConvShape> { new("whiten", 1, WhitenChannels(c), c.WhitenPatch, 1, WhitenSide(c)) };
        int channels = WhitenChannels(c), side = WhitenSide(c);
        for (int g = 0; g < c.Widths.Count; g++)
        {
            for (int i = 0; i < c.Depth; i++)
            {
                convs.Add(new($"g{g + 1}.convs.{i}", i == 0 ? channels : c.Widths[g], c.Widths[g], 3, 1, side));
                if (i == 0) side /= 2;
            }
            channels = c.Widths[g];
        }
        return convs;
    }

    /// <summary>Side of group <paramref name="g"/>'s (0-based) output.</summary>
    public static int SideAfter(SpeedConfig c, int g) => WhitenSide(c) >> (g + 1);

    public static long ForwardFlops(SpeedConfig c) => 2 * (Convs(c).Sum(v => v.Macs) + c.Widths[^1] * 10L);
}
