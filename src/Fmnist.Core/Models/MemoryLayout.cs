using Fmnist.Platform;
using static TorchSharp.torch;

namespace Fmnist.Models;

/// <summary>How a network's activations lie in memory: NCHW (libtorch's default) or channels-last (NHWC
/// strides on the same NCHW shapes), or <see cref="Auto"/>: chosen by the CPU.</summary>
public enum MemoryLayout
{
    /// <summary>The layout this CPU runs faster.</summary>
    Auto,
    /// <summary>libtorch's default: batch, channels, height, width.</summary>
    Nchw,
    /// <summary>NHWC strides on the same NCHW shapes.</summary>
    ChannelsLast,
}

/// <summary>The layout a network computes in, and why (what config.json, the log and `bench` report).</summary>
internal sealed record ResolvedLayout(MemoryLayout Used, string Reason)
{
    public string Name => Used == MemoryLayout.ChannelsLast ? "channels-last" : "nchw";
    public bool ChannelsLast => Used == MemoryLayout.ChannelsLast;
}

/// <summary>A network that can run its convolutions in channels-last layout.</summary>
internal interface ILayoutNet
{
    /// <summary>When true, forward turns its input into channels-last strides, and every convolution, BatchNorm
    /// and pooling layer after it keeps them. The weights and results are the same either way (up to rounding).</summary>
    bool ChannelsLast { get; set; }
}

/// <summary>
/// Picks the layout by the CPU. On an AVX2-only CPU (a Zen 3), oneDNN's convolutions work in blocked formats
/// (8 channels per vector) and libtorch reorders every NCHW activation into them and back, around every
/// convolution, forward and backward; its channels-last (brgemm) kernels read NHWC directly, and libtorch's
/// channels-last max-pool and BatchNorm are vectorized. Measured on a Zen 3 (`bench train --compare-layout`,
/// docs/performance.md): the seed network trains 25-35% faster and infers 40% faster. On a Zen 4 (AVX-512 +
/// AVX512_BF16) bf16 training gains as much or more (seed network 1.2-1.5x, speed network 1.4-1.5x, ResNet
/// 1.0-1.3x; fp32 seed 1.05x), so `auto` takes channels-last wherever libtorch runs AVX2 or AVX-512 kernels,
/// and keeps NCHW only on CPUs below AVX2, where it has not been measured.
/// </summary>
internal static class LayoutChoice
{
    public static ResolvedLayout Resolve(MemoryLayout requested, CpuInfo? cpu = null)
    {
        cpu ??= CpuInfo.Current;
        return requested switch
        {
            MemoryLayout.Nchw => new(MemoryLayout.Nchw, "nchw requested"),
            MemoryLayout.ChannelsLast => new(MemoryLayout.ChannelsLast, "channels-last requested"),
            _ => cpu.TorchCapability is "avx2" or "avx512"
                ? new(MemoryLayout.ChannelsLast, $"auto: libtorch runs {cpu.TorchCapability} kernels here, where channels-last convolutions skip oneDNN's reorders (measured faster on a Zen 3, a Zen 4 and an Intel Xeon)")
                : new(MemoryLayout.Nchw, $"auto: libtorch runs {cpu.TorchCapability} kernels here, where channels-last has not been measured faster"),
        };
    }

    /// <summary>"auto", "nchw", "channels-last" (also "channels_last", "nhwc"), as the command line and JSON give it.</summary>
    public static MemoryLayout Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "auto" => MemoryLayout.Auto,
        "nchw" => MemoryLayout.Nchw,
        "channels-last" or "channels_last" or "channelslast" or "nhwc" => MemoryLayout.ChannelsLast,
        _ => throw new FmnistException($"unknown memory layout '{text}' (auto, nchw or channels-last)"),
    };

    /// <summary>The same (B,C,H,W) tensor with channels-last strides: a copy, except for one channel, where
    /// both layouts hold the same bytes and only the strides change (libtorch would otherwise read a
    /// one-channel tensor as NCHW whatever its strides, and the convolution after it too).</summary>
    public static Tensor ToChannelsLast(Tensor x)
    {
        if (x.dim() != 4) throw new ArgumentException($"channels-last needs a (B,C,H,W) tensor, got {x.dim()} dimensions", nameof(x));
        long h = x.shape[2], w = x.shape[3];
        if (x.shape[1] == 1) return x.contiguous().as_strided(x.shape, [h * w, 1, w, 1]);
        return x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
    }

    /// <summary>True when <paramref name="x"/> (B,C,H,W) has channels-last strides (channels adjacent in memory).</summary>
    public static bool IsChannelsLast(Tensor x)
    {
        if (x.dim() != 4) return false;
        var s = x.stride();
        long c = x.shape[1], w = x.shape[3];
        return s[1] == 1 && s[3] == c && s[2] == c * w;
    }
}
