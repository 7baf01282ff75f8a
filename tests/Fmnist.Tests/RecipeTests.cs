using Fmnist.Models.Speed;
using Fmnist.Models.ResNet;
using Fmnist.Features;
using Fmnist.Models;
using Fmnist.Models.CnnLstm;
using Fmnist.Training;
using static TorchSharp.torch;

namespace Fmnist.Tests;

/// <summary>The ResNet recipe's parts on known inputs: crop, flip, erasing, EMA, schedules, optimizers, overrides.</summary>
public class RecipeTests
{
    public RecipeTests() => TorchRuntime.Initialize();

    /// <summary>(B,1,28,28) where pixel (r,c) of image i holds i*1000 + r*28 + c + 1: every pixel is unique and non-zero.</summary>
    private static Tensor Pattern(int b = 4) =>
        arange(b * 784, dtype: ScalarType.Float32).reshape(b, 1, 28, 28).remainder(784).add(1)
            .add(arange(b, dtype: ScalarType.Float32).mul(1000).reshape(b, 1, 1, 1));

    [Fact]
    public void Crop_with_padding_shifts_each_image_by_the_offsets_drawn_from_the_random()
    {
        using var x = Pattern();
        const int pad = 3;
        using var y = CropErase.CropFlip(x, pad, 0, new Random(7));
        // Replay the draws: top, left, flip per image.
        var rng = new Random(7);
        for (int i = 0; i < 4; i++)
        {
            int dy = rng.Next(2 * pad + 1) - pad, dx = rng.Next(2 * pad + 1) - pad;
            rng.NextDouble();
            var img = y[i, 0].data<float>().ToArray();
            var src = x[i, 0].data<float>().ToArray();
            for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++)
            {
                int sr = r + dy, sc = c + dx;
                float expected = sr is >= 0 and < 28 && sc is >= 0 and < 28 ? src[sr * 28 + sc] : 0;
                Assert.Equal(expected, img[r * 28 + c]);
            }
        }
    }

    [Fact]
    public void Crop_without_padding_and_always_flip_is_an_exact_mirror()
    {
        using var x = Pattern();
        using var y = CropErase.CropFlip(x, 0, 1, new Random(1));
        using var mirrored = x.flip(3);
        Assert.Equal(mirrored.data<float>().ToArray(), y.data<float>().ToArray());
        using var same = CropErase.CropFlip(x, 0, 0, new Random(1));
        Assert.Equal(x.data<float>().ToArray(), same.data<float>().ToArray());
    }

    [Fact]
    public void Erasing_zeroes_one_rectangle_within_bounds_and_its_area_range()
    {
        using var x = Pattern(32);
        using var y = x.clone();
        CropErase.Erase(y, 1, 0.1, 0.2, new Random(3));
        for (int i = 0; i < 32; i++)
        {
            var img = y[i, 0].data<float>().ToArray();
            var zeros = Enumerable.Range(0, 784).Where(p => img[p] == 0).ToList();
            Assert.NotEmpty(zeros); // a 10-20% box always fits in 10 draws here
            int top = zeros.Min(p => p / 28), bottom = zeros.Max(p => p / 28), left = zeros.Min(p => p % 28), right = zeros.Max(p => p % 28);
            int h = bottom - top + 1, w = right - left + 1;
            Assert.Equal(h * w, zeros.Count); // one filled rectangle
            Assert.InRange(h * w, 0.1 * 784 * 0.8, 0.2 * 784 * 1.2); // rounding of the sides
            // Everything outside the rectangle is untouched.
            var src = x[i, 0].data<float>().ToArray();
            Assert.All(Enumerable.Range(0, 784).Where(p => img[p] != 0), p => Assert.Equal(src[p], img[p]));
        }
        using var untouched = x.clone();
        CropErase.Erase(untouched, 0, 0.1, 0.2, new Random(3));
        Assert.Equal(x.data<float>().ToArray(), untouched.data<float>().ToArray());
    }

    [Fact]
    public void Online_augmentation_of_the_crop_mode_is_seeded()
    {
        var c = Presets.Get("resnet");
        using var x = Pattern();
        using var a = TrainingStep.Augment(x.clone(), c, new Random(4));
        using var b = TrainingStep.Augment(x.clone(), c, new Random(4));
        using var d = TrainingStep.Augment(x.clone(), c, new Random(5));
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
        Assert.NotEqual(a.data<float>().ToArray(), d.data<float>().ToArray());
    }

    [Fact]
    public void Ema_follows_the_decay_formula_with_its_warm_up()
    {
        Assert.Equal(0.1, WeightAverage.DecayAt(0.999, 0), 12);          // (1+0)/(10+0)
        Assert.Equal(0.5, WeightAverage.DecayAt(0.999, 8), 12);          // 9/18
        Assert.Equal(0.999, WeightAverage.DecayAt(0.999, 1_000_000), 12);
        var c = new ResNetConfig { Width = 4, Blocks = [1] };
        using var net = ModelFactory.Create(c);
        using var ema = new WeightAverage(net, c, 0.9);
        var p = net.parameters().First();
        using (no_grad()) p.fill_(1);
        ema.Update(100); // decay 0.9: avg = 0.9 * old + 0.1 * 1
        var avg = ema.Net.parameters().First();
        var old = net.parameters().Skip(1).First(); // untouched: average equals it
        using var expected = full_like(p, 1.0f);
        // The first parameter was a random init w0 in the average: 0.9*w0 + 0.1.
        using (no_grad())
        {
            Assert.True(ema.Net.parameters().Skip(1).First().allclose(old));
            Assert.False(avg.requires_grad);
        }
        for (int i = 0; i < 200; i++) ema.Update(1000);
        Assert.True(avg.allclose(expected, atol: 1e-6), "after many updates the average reaches constant weights");
    }

    [Fact]
    public void Schedules_have_the_documented_values()
    {
        var warm = new TrainConfig { LearningRate = 0.1, Schedule = LrSchedule.Cosine, Warmup = 0.1 };
        Assert.Equal(0.01, TrainingStep.LearningRate(warm, 0, 100), 12);   // linear rise over 10 steps
        Assert.Equal(0.1, TrainingStep.LearningRate(warm, 9, 100), 12);
        Assert.Equal(0.1, TrainingStep.LearningRate(warm, 10, 100), 12);  // cosine starts at the peak
        Assert.Equal(0.05, TrainingStep.LearningRate(warm, 55, 100), 12); // half-way through the decay
        Assert.Equal(0.0, TrainingStep.LearningRate(warm, 100, 100), 12);
        var one = new TrainConfig { LearningRate = 0.1, Schedule = LrSchedule.OneCycle };
        Assert.Equal(0.004, TrainingStep.LearningRate(one, 0, 100), 12);  // lr/25
        Assert.Equal(0.1, TrainingStep.LearningRate(one, 30, 100), 12);   // peak at 30%
        Assert.Equal(0.004 / 1e4, TrainingStep.LearningRate(one, 100, 100), 12);
        Assert.True(TrainingStep.LearningRate(one, 15, 100) is > 0.004 and < 0.1);
    }

    [Theory]
    [InlineData(OptimizerKind.Adam)]
    [InlineData(OptimizerKind.AdamW)]
    [InlineData(OptimizerKind.Sgd)]
    public void Every_optimizer_takes_a_step(OptimizerKind kind)
    {
        var c = new ResNetConfig { Width = 4, Blocks = [1] };
        using var net = ModelFactory.Create(c);
        using var opt = TrainingStep.CreateOptimizer(net, new TrainConfig { Optimizer = kind, LearningRate = 0.01, WeightDecay = 1e-4 });
        var before = net.parameters().Select(p => p.clone()).ToList();
        using (var scope = NewDisposeScope())
        {
            var loss = nn.functional.cross_entropy(net.call(randn(4, 1, 28, 28)), tensor(new long[] { 0, 1, 2, 3 }));
            opt.zero_grad();
            loss.backward();
            opt.step();
        }
        Assert.Contains(net.parameters().Zip(before), pair => !pair.First.allclose(pair.Second));
    }

    [Fact]
    public void Overrides_reach_every_new_field_and_bad_values_are_refused()
    {
        var o = ConfigOverrides.Of(("arch", "resnet"), ("width", 24), ("blocks", new[] {1, 2}), ("optimizer", OptimizerKind.AdamW), ("weight_decay", 0.05), ("schedule", LrSchedule.OneCycle), ("warmup", 0.1), ("ema", 0.99), ("augment", AugmentMode.Crop), ("crop_padding", 2), ("erase_probability", 0.3), ("erase_max_area", 0.3));
        var c = o.Apply(new TrainConfig());
        c.Validate();
        Assert.Equal(("resnet", 24, "1,2"), (c.Model.Arch, ((ResNetConfig)c.Model).Width, string.Join(",", ((ResNetConfig)c.Model).Blocks)));
        Assert.Equal((OptimizerKind.AdamW, 0.05, LrSchedule.OneCycle, 0.1, 0.99), (c.Optimizer, c.WeightDecay, c.Schedule, c.Warmup, c.Ema));
        Assert.Equal((AugmentMode.Crop, 2, 0.3, 0.3), (c.Augment, c.Augmentation.CropPadding, c.Augmentation.EraseProbability, c.Augmentation.EraseMaxArea));
        var grid = ConfigOverrides.Parse("arch", System.Text.Json.JsonDocument.Parse("\"resnet\"").RootElement);
        Assert.Equal("resnet", grid.Value<string>("arch"));
        Assert.Throws<FmnistException>(() => (c with { Ema = 1 }).Validate());
        Assert.Throws<FmnistException>(() => (c with { Warmup = -0.1 }).Validate());
        Assert.Throws<FmnistException>(() => (c with { Augmentation = c.Augmentation with { EraseMaxArea = 0.01 } }).Validate());
        Presets.Get("resnet").Validate();
    }

    [Fact]
    public void Sweep_trials_with_equal_blocks_are_one_trial_and_name_their_folder_plainly()
    {
        var grid = new Experiments.SweepGrid { Trials = [ConfigOverrides.Of(("blocks", new[] {1, 1})), ConfigOverrides.Of(("blocks", new[] {1, 1}))] };
        Assert.Single(grid.Expand());
        var trial = ConfigOverrides.Of(("arch", "resnet"), ("blocks", new[] {2, 2, 2}));
        Assert.EndsWith("-archresnet-blocks2-2-2", Experiments.TrialNames.Of(trial.Apply(new TrainConfig()), trial));
    }
}

public class Bf16Tests
{
    public Bf16Tests() => TorchRuntime.Initialize();

    [Fact]
    [Trait("Category", "Slow")]
    public void Bf16_steps_learn_and_leave_the_master_weights_fp32()
    {
        var slice = TestData.Fashion.Train.Take(64);
        var config = new TrainConfig
        {
            Model = new ResNetConfig { Width = 16, Blocks = [1, 1, 1] },
            Precision = Precision.Bf16, Optimizer = OptimizerKind.AdamW, LearningRate = 3e-3, Augment = AugmentMode.None, Schedule = LrSchedule.Constant,
        };
        using var step = new TrainingStep(config, Normalization.FromImages(slice));
        using var images = Evaluation.Evaluator.ImageTensor(slice.Images);
        using var labels = Evaluation.Evaluator.LabelTensor(slice.Labels);
        var all = Enumerable.Range(0, 64).Select(i => (long)i).ToArray();
        var losses = Enumerable.Range(0, 50).Select(s => step.Run(images, labels, all, new Random(1), s, 50).Loss).ToList();
        Assert.True(losses[^1] < losses[0] * 0.5, $"loss {losses[0]} -> {losses[^1]}");
        Assert.All(step.Net.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.All(step.Bf16!.Net.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
    }
}

public class BenchTrainCliTests
{
    [Fact]
    public void Bench_train_times_fp32_and_bf16_and_reports_the_speedup()
    {
        using var doc = BenchTrain("--preset", "resnet", "--width", "8", "--blocks", "1", "--compare-precision");
        var runs = doc.RootElement.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(["fp32", "bf16"], runs.Select(r => r.GetProperty("precision").GetString()));
        Assert.All(runs, r => Assert.True(r.GetProperty("images_per_second").GetDouble() > 0));
        AssertSpeedupOfSecondRun(doc, runs, "bf16_speedup");
        // Every figure names its machine and is measured against that machine's own matrix-multiply peak.
        MachineJson.AssertNamesTheMachine(doc.RootElement);
        var peak = doc.RootElement.GetProperty("gemm_peak");
        Assert.True(peak.GetProperty("fp32_gflops").GetDouble() > 1);
        // The peak is the faster of the two measured paths (MKL's matmul, oneDNN's 1x1 convolution), so no share exceeds it by much.
        Assert.Equal(Math.Max(peak.GetProperty("fp32_matmul_gflops").GetDouble(), peak.GetProperty("fp32_conv_gflops").GetDouble()),
            peak.GetProperty("fp32_gflops").GetDouble(), 1);
        Assert.Equal(Fmnist.Platform.CpuInfo.Current.NativeBf16, peak.GetProperty("bf16_gflops").ValueKind == System.Text.Json.JsonValueKind.Number);
        Assert.Equal(Fmnist.Platform.CpuInfo.Current.NativeBf16, peak.GetProperty("bf16_conv_gflops").ValueKind == System.Text.Json.JsonValueKind.Number);
        Assert.InRange(runs[0].GetProperty("share_of_gemm_peak").GetDouble(), 1e-4, 1.2);
        // bf16 is measured against a bf16 peak, which is timed only where bf16 is native.
        if (Fmnist.Platform.CpuInfo.Current.NativeBf16) Assert.InRange(runs[1].GetProperty("share_of_gemm_peak").GetDouble(), 1e-4, 1.2);
        else Assert.Equal(System.Text.Json.JsonValueKind.Null, runs[1].GetProperty("share_of_gemm_peak").ValueKind);
        Assert.Equal(!Fmnist.Platform.CpuInfo.Current.NativeBf16, runs[1].GetProperty("bf16_emulated").GetBoolean());
        Assert.Contains("requested", runs[1].GetProperty("precision_reason").GetString());
        var auto = Fmnist.Models.LayoutChoice.Resolve(Fmnist.Models.MemoryLayout.Auto);
        Assert.All(runs, r => Assert.Equal(auto.Name, r.GetProperty("layout").GetString()));
    }

    [Fact]
    public void Bench_train_compares_the_two_memory_layouts()
    {
        using var doc = BenchTrain("--preset", "fast", "--widths", "8,8,8", "--precision", "fp32", "--compare-layout");
        var runs = doc.RootElement.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(["nchw", "channels-last"], runs.Select(r => r.GetProperty("layout").GetString()));
        Assert.All(runs, r => Assert.Contains("requested", r.GetProperty("layout_reason").GetString()));
        AssertSpeedupOfSecondRun(doc, runs, "channels_last_speedup");
        Assert.Equal(System.Text.Json.JsonValueKind.Null, doc.RootElement.GetProperty("bf16_speedup").ValueKind);
    }

    /// <summary>`bench train ... --json` on a few small batches of real images, parsed.</summary>
    private static System.Text.Json.JsonDocument BenchTrain(params string[] options)
    {
        var (code, output, err) = InProcessCli.Run(["bench", "train", "--batch-size", "16", "--steps", "2", "--train-limit", "256", .. options, "--json"]);
        Assert.True(code == 0, err);
        return System.Text.Json.JsonDocument.Parse(output);
    }

    /// <summary>The reported speed-up is the second run's images/s over the first's, rounded to two places. It is taken
    /// from the exact rates, the JSON's rates are rounded to 4 significant digits, so the two may round to neighbouring
    /// hundredths (1.145 and 1.144): half a hundredth and the rates' rounding apart at most.</summary>
    private static void AssertSpeedupOfSecondRun(System.Text.Json.JsonDocument doc, List<System.Text.Json.JsonElement> runs, string key)
    {
        double ratio = runs[1].GetProperty("images_per_second").GetDouble() / runs[0].GetProperty("images_per_second").GetDouble();
        double reported = doc.RootElement.GetProperty(key).GetDouble();
        Assert.True(Math.Abs(ratio - reported) <= 0.005 + ratio * 1e-3, $"{key} {reported} against {ratio:F4} from the rates");
    }
}

public class BenchCliTests
{
    [Fact]
    public void Bench_knn_names_the_machine_and_its_kernel()
    {
        var (code, output, err) = InProcessCli.Run("bench", "knn", "--repeat", "1", "--json");
        Assert.True(code == 0, err);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        MachineJson.AssertNamesTheMachine(doc.RootElement);
        Assert.Equal(Fmnist.Models.Knn.HammingSearch.Name(Fmnist.Models.Knn.HammingSearch.Supported[0]), doc.RootElement.GetProperty("kernel").GetString());
        Assert.Equal(0.7848, doc.RootElement.GetProperty("accuracy_k1").GetDouble(), 4);
    }

    [Fact]
    public void Bench_train_layers_times_every_layer_forward_and_backward()
    {
        var (code, output, err) = InProcessCli.Run("bench", "train", "--lstm", "16", "--dense", "16", "--batch-size", "16", "--steps", "1",
            "--train-limit", "256", "--layers", "--json");
        Assert.True(code == 0, err);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        var layers = doc.RootElement.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(["conv1a", "conv1b", "bn1", "pool1", "conv2a", "conv2b", "bn2", "pool2", "lstm", "dense", "output"],
            layers.Select(l => l.GetProperty("layer").GetString()));
        Assert.All(layers, l => Assert.True(l.GetProperty("forward_seconds").GetDouble() > 0 && l.GetProperty("backward_seconds").GetDouble() > 0));
        Assert.All(layers.Where(l => l.GetProperty("layer").GetString()!.StartsWith("conv")),
            l => Assert.True(l.GetProperty("channels_last_forward_seconds").GetDouble() > 0));
        Assert.Equal("(16,64,14,14)", layers[5].GetProperty("input").GetString());
    }

    [Fact]
    public void Auto_precision_runs_fp32_when_onednn_is_capped_below_bf16()
    {
        // The Zen 3 profile by emulation: the best preset must not pick (emulated) bf16, and computes channels-last.
        var env = new Dictionary<string, string> { ["ONEDNN_MAX_CPU_ISA"] = "AVX2", ["ATEN_CPU_CAPABILITY"] = "avx2" };
        var (code, stdout, stderr) = CliProcess.Run(env, "bench", "train", "--preset", "resnet", "--width", "8", "--blocks", "1",
            "--batch-size", "16", "--steps", "1", "--train-limit", "256", "--json");
        Assert.True(code == 0, stderr);
        using var doc = System.Text.Json.JsonDocument.Parse(stdout);
        Assert.Equal("fp32", doc.RootElement.GetProperty("precision").GetString());
        Assert.Contains("ONEDNN_MAX_CPU_ISA=AVX2", doc.RootElement.GetProperty("precision_reason").GetString()
            + (Fmnist.Platform.CpuInfo.Current.NativeBf16 ? "" : "ONEDNN_MAX_CPU_ISA=AVX2"));
        Assert.Equal("channels-last", doc.RootElement.GetProperty("layout").GetString());
        Assert.StartsWith("auto:", doc.RootElement.GetProperty("layout_reason").GetString());
    }
}

/// <summary>The `machine` object every benchmark and training JSON carries.</summary>
public static class MachineJson
{
    public static void AssertNamesTheMachine(System.Text.Json.JsonElement root)
    {
        var m = root.GetProperty("machine");
        Assert.Equal(Fmnist.Platform.CpuInfo.Current.Model, m.GetProperty("cpu").GetString());
        Assert.Equal(Fmnist.Platform.CpuInfo.Current.Generation, m.GetProperty("cpu_generation").GetString());
        Assert.Equal(Fmnist.Platform.CpuInfo.Current.InstructionSets, m.GetProperty("instruction_sets").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal(Fmnist.Platform.CpuInfo.DotnetVectorIsa(), m.GetProperty("dotnet_vector_isa").GetString());
        Assert.True(m.GetProperty("threads").GetInt32() >= 1);
        Assert.Equal(Fmnist.Platform.CpuInfo.Current.NativeBf16, m.GetProperty("native_bf16").GetBoolean());
        Assert.Equal(Fmnist.Training.PrecisionChoice.Resolve(Fmnist.Training.Precision.Auto).Name, m.GetProperty("auto_precision").GetString());
    }
}
