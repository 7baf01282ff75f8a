using System.Text.Json;
using Fmnist.Models;
using Fmnist.Models.CnnLstm;
using Fmnist.Models.ResNet;
using Fmnist.Models.Speed;
using Fmnist.Platform;
using Fmnist.Training;
using static TorchSharp.torch;

namespace Fmnist.Tests;

/// <summary>
/// The memory layout: auto picks channels-last where libtorch runs AVX2 or AVX-512 kernels (AVX2 by emulation
/// on an AVX-512 CPU: ATEN_CPU_CAPABILITY=avx2) and NCHW below (emulated: ATEN_CPU_CAPABILITY=default), every
/// network computes the same in both layouts, and libtorch keeps the channels-last strides through a
/// convolution (if it stopped, the speed-up would vanish without an error).
/// </summary>
public class LayoutTests
{
    [Fact]
    public void Auto_layout_is_channels_last_where_libtorch_runs_avx2_or_avx512()
    {
        var cpu = CpuInfo.Current;
        var auto = LayoutChoice.Resolve(MemoryLayout.Auto, cpu);
        Assert.Equal(cpu.TorchCapability is "avx2" or "avx512" ? MemoryLayout.ChannelsLast : MemoryLayout.Nchw, auto.Used);
        Assert.StartsWith("auto:", auto.Reason);
        // The AVX2 profile, by emulation where the CPU has more: channels-last.
        var capped = CpuInfo.Detect(name => name == "ATEN_CPU_CAPABILITY" ? "avx2" : null);
        if (cpu.TorchCapability is "avx2" or "avx512")
            Assert.Equal(MemoryLayout.ChannelsLast, LayoutChoice.Resolve(MemoryLayout.Auto, capped).Used);
        // Below AVX2 (libtorch's scalar "default" kernels), by emulation: NCHW.
        var scalar = CpuInfo.Detect(name => name == "ATEN_CPU_CAPABILITY" ? "default" : null);
        Assert.Equal("default", scalar.TorchCapability);
        Assert.Equal(MemoryLayout.Nchw, LayoutChoice.Resolve(MemoryLayout.Auto, scalar).Used);
        // Explicit requests are honoured on any CPU.
        Assert.Equal(MemoryLayout.Nchw, LayoutChoice.Resolve(MemoryLayout.Nchw, capped).Used);
        Assert.Equal(MemoryLayout.ChannelsLast, LayoutChoice.Resolve(MemoryLayout.ChannelsLast, cpu).Used);
        Assert.Equal("channels-last", LayoutChoice.Resolve(MemoryLayout.ChannelsLast, cpu).Name);
    }

    [Theory]
    [InlineData("auto", MemoryLayout.Auto)]
    [InlineData("NCHW", MemoryLayout.Nchw)]
    [InlineData("channels-last", MemoryLayout.ChannelsLast)]
    [InlineData("channels_last", MemoryLayout.ChannelsLast)]
    [InlineData("nhwc", MemoryLayout.ChannelsLast)]
    public void Layout_names_parse(string text, MemoryLayout expected) => Assert.Equal(expected, LayoutChoice.Parse(text));

    [Fact]
    public void An_unknown_layout_name_is_an_error_naming_it()
    {
        var e = Assert.Throws<FmnistException>(() => LayoutChoice.Parse("nwch"));
        Assert.Contains("'nwch'", e.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Channels_last_copy_holds_the_same_values_with_channels_adjacent(int channels)
    {
        TorchRuntime.Initialize();
        using var x = arange(2 * channels * 4 * 5, dtype: ScalarType.Float32).reshape(2, channels, 4, 5);
        using var last = LayoutChoice.ToChannelsLast(x);
        Assert.Equal(x.shape, last.shape);
        Assert.True(LayoutChoice.IsChannelsLast(last));
        Assert.False(LayoutChoice.IsChannelsLast(x));
        Assert.True(x.eq(last).all().item<bool>());
        // libtorch keeps the layout through a convolution: what makes oneDNN skip its reorders.
        using var w = randn(6, channels, 3, 3);
        using var y = nn.functional.conv2d(last, w, padding: [1, 1]);
        Assert.True(LayoutChoice.IsChannelsLast(y), $"conv2d output strides {string.Join(",", y.stride())}");
        using var yPlain = nn.functional.conv2d(x, w, padding: [1, 1]);
        Assert.False(LayoutChoice.IsChannelsLast(yPlain));
        Assert.True(y.allclose(yPlain, rtol: 1e-5, atol: 1e-5));
        // One channel: the same bytes under other strides (no copy); more channels: a copy.
        last[1, 0, 2, 3] = tensor(-1f);
        Assert.Equal(channels == 1, x[1, 0, 2, 3].item<float>() == -1f);
    }

    public static TheoryData<string> Archs => new(Networks.Names); // every registered network

    [Theory]
    [MemberData(nameof(Archs))]
    public void Every_network_gives_the_same_logits_and_gradients_in_both_layouts(string arch)
    {
        TorchRuntime.Initialize();
        ModelConfig config = arch switch
        {
            "resnet" => new ResNetConfig { Width = 8, Blocks = [1, 1] },
            "speed" => new SpeedConfig { Widths = [8, 16, 12], Depth = 2 },
            "cnn-lstm" => new CnnLstmConfig { Filters1 = 8, Filters2 = 16, Lstm = 16, Dense = 16 },
            _ => Networks.Find(arch)!.Default,
        };
        manual_seed(3);
        using var x = randn(6, 1, 28, 28);
        using var y = tensor(new long[] { 0, 1, 2, 3, 4, 5 });
        using var plain = ModelFactory.Create(config, channelsLast: false);
        using var last = ModelFactory.Create(config, channelsLast: true);
        if (Networks.Of(config).InitImages > 0) Networks.Of(config).Initialise(plain, x);
        using (no_grad())
            foreach (var (a, b) in last.state_dict().Values.Zip(plain.state_dict().Values)) a.copy_(b);
        Assert.True(ModelFactory.IsChannelsLast(last));
        Assert.False(ModelFactory.IsChannelsLast(plain));

        plain.eval(); last.eval();
        using (no_grad())
        {
            using var p = plain.call(x);
            using var l = last.call(x);
            AssertClose(p, l, 1e-4, $"{arch}: logits");
        }
        plain.train(); last.train(); // dropout off, so the two training passes are comparable
        foreach (var m in plain.modules().Concat(last.modules()).OfType<TorchSharp.Modules.Dropout>()) m.eval();
        nn.functional.cross_entropy(plain.call(x), y).backward();
        nn.functional.cross_entropy(last.call(x), y).backward();
        foreach (var (a, b) in plain.parameters().Zip(last.parameters()))
        {
            if (a.grad is null) { Assert.Null(b.grad); continue; }
            AssertClose(a.grad, b.grad!, 1e-3, $"{arch}: gradient of a {string.Join("x", a.shape)} parameter");
        }
    }

    /// <summary>
    /// The two layouts sum in different orders, so fp32 results differ by rounding that grows with the
    /// tensor's own scale (a conv weight gradient of magnitude 17 differed by 7e-5 here, by 5e-5 on the CI
    /// machine): the bound is relative to the largest entry, not to each entry. A layout bug (a transposed
    /// or misread weight) moves entries by the order of that scale itself, far above these bounds.
    /// </summary>
    static void AssertClose(Tensor expected, Tensor actual, double relative, string what)
    {
        var scale = expected.abs().max().item<float>();
        var diff = expected.sub(actual).abs().max().item<float>();
        Assert.True(diff <= relative * scale + 1e-7, $"{what}: largest difference {diff} against a scale of {scale} (bound {relative} of it)");
    }

    [Fact]
    public void Layout_option_is_recorded_in_the_config_and_a_bad_one_is_a_usage_error()
    {
        var (code, stdout, stderr) = CliProcess.Run("bench", "train", "--layout", "sideways", "--json");
        Assert.NotEqual(0, code);
        Assert.Contains("unknown memory layout 'sideways'", stdout + stderr); // a parse error, with the usage text
        Assert.DoesNotContain("   at ", stdout + stderr);

        var c = Presets.Get("seed") with { Layout = MemoryLayout.ChannelsLast };
        var json = JsonSerializer.Serialize(c, JsonFiles.Options);
        Assert.Contains("\"layout\": \"channels_last\"", json);
        Assert.Equal(MemoryLayout.ChannelsLast, JsonSerializer.Deserialize<TrainConfig>(json, JsonFiles.Options)!.Layout);
    }
}

/// <summary>A finished training run records the layout it computed in.</summary>
[Collection("trained model")]
public class LayoutRecordTests(TrainedModelFixture trained)
{
    [Fact]
    public void A_run_folder_records_the_layout_and_why()
    {
        var info = new RunFolder(trained.Directory).ReadInfo();
        var expected = LayoutChoice.Resolve(MemoryLayout.Auto);
        Assert.Equal(MemoryLayout.Auto, info.Config.Layout);
        Assert.Equal(expected.Name, info.Compute?.Layout);
        Assert.Equal(expected.Reason, info.Compute?.LayoutReason);
    }
}
