using Fmnist.Models.Speed;
using System.Text.Json;
using Fmnist.Features;
using Fmnist.Inference;
using Fmnist.Models;
using Fmnist.Models.CnnLstm;
using Fmnist.Models.ResNet;
using Fmnist.Training;
using static TorchSharp.torch;

namespace Fmnist.Tests;

public class ResNetTests
{
    public ResNetTests() => TorchRuntime.Initialize();

    private static readonly ResNetConfig Small = new ResNetConfig { Width = 8, Blocks = [1, 1, 1] };

    [Theory]
    [InlineData(8, "1,1,1")]
    [InlineData(4, "2,1")]
    [InlineData(4, "1,1,1,1")]
    public void Output_is_batch_by_ten_for_any_width_and_depth(int width, string blocks)
    {
        using var net = ModelFactory.Create(new ResNetConfig { Width = width, Blocks = (IReadOnlyList<int>)Training.Settings.Find("blocks").Parse(blocks) });
        Assert.IsType<ResNetNet>(net);
        net.eval();
        using var x = randn(3, 1, 28, 28);
        using var y = net.call(x);
        Assert.Equal(new long[] { 3, 10 }, y.shape);
    }

    [Fact]
    public void Summary_rows_add_up_to_the_real_parameter_count_and_flops_are_analytic()
    {
        var c = new ResNetConfig { Width = 32, Blocks = [2, 2, 2] };
        using var net = ModelFactory.Create(c);
        var summary = ModelSummary.Of(net, c);
        Assert.Equal(summary.TotalParameters, summary.Rows.Sum(r => r.Parameters));
        Assert.Equal("(B, 128, 7, 7)", summary.Rows.Single(r => r.Layer == "s3b2").OutputShape);
        // Stem 28*28*32*9; stage 1: 4 convs of 28*28*32*32*9; stage 2: 14*14*(64*32*9 + 3*64*64*9 + 64*32);
        // stage 3: 7*7*(128*64*9 + 3*128*128*9 + 128*64); linear 128*10. Two FLOPs per multiply-add.
        long macs = 28 * 28 * 32 * 9 + 4L * 28 * 28 * 32 * 32 * 9 + 14 * 14 * (64 * 32 * 9 + 3 * 64 * 64 * 9 + 64 * 32)
                    + 7 * 7 * (128 * 64 * 9 + 3 * 128 * 128 * 9 + 128 * 64) + 128 * 10;
        Assert.Equal(2 * macs, summary.ForwardFlops);
        // The seed's CNN+LSTM: ~47 MFLOP, as measured in NOTES.
        Assert.InRange(ModelFactory.ForwardFlops(new CnnLstmConfig()), 46e6, 48e6);
    }

    [Fact]
    public void Save_then_load_gives_identical_outputs()
    {
        SaveLoadCheck.AssertRoundTrip(() => ModelFactory.Create(Small));
    }

    [Fact]
    public void Weights_of_one_arch_do_not_load_into_the_other()
    {
        using var resnet = ModelFactory.Create(Small);
        var path = Path.Combine(TestData.TempDir(), "m.pt");
        resnet.save(path);
        using var cnn = ModelFactory.Create(new CnnLstmConfig());
        Assert.ThrowsAny<Exception>(() => cnn.load(path));
    }

    [Fact]
    public void Old_config_without_arch_loads_as_cnn_lstm_and_arch_round_trips()
    {
        var old = JsonSerializer.Deserialize<TrainConfig>("""{ "model": { "lstm": 128 }, "epochs": 3 }""", JsonFiles.Options)!;
        Assert.Equal("cnn-lstm", old.Model.Arch);
        Assert.Equal(128, ((CnnLstmConfig)old.Model).Lstm);
        var best = Presets.Get("resnet");
        var text = JsonFiles.Serialize(best);
        Assert.Contains("\"arch\": \"resnet\"", text);
        var back = JsonSerializer.Deserialize<TrainConfig>(text, JsonFiles.Options)!;
        Assert.Equal(text, JsonFiles.Serialize(back));
        Assert.Contains("\"arch\": \"cnn-lstm\"", JsonFiles.Serialize(new TrainConfig()));
    }

    [Fact]
    public void Bad_sizes_are_one_line_errors()
    {
        Assert.Throws<FmnistException>(() => (Small with { Width = 0 }).Validate());
        Assert.Throws<FmnistException>(() => (Small with { Blocks = [] }).Validate());
        Assert.Throws<FmnistException>(() => (Small with { Blocks = [1, 1, 1, 1, 1] }).Validate());
        Assert.Throws<FmnistException>(() => Training.Settings.Find("blocks").Parse("2,x"));
        Assert.Throws<FmnistException>(() => Training.Settings.Find("arch").Parse("vgg"));
        Assert.Equal("resnet", Training.Settings.Find("arch").Parse("resnet"));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Loss_falls_on_a_tiny_seeded_batch()
    {
        manual_seed(3);
        using var net = ModelFactory.Create(Small with { Width = 16 });
        var config = new TrainConfig { Optimizer = OptimizerKind.AdamW, LearningRate = 3e-3, WeightDecay = 5e-4 };
        using var opt = TrainingStep.CreateOptimizer(net, config);
        var (first, last) = LossCheck.OnTinyBatch(net, opt, 50);
        Assert.True(last < first * 0.5, $"loss {first} -> {last}");
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void A_resnet_run_with_the_whole_recipe_trains_saves_and_reloads()
    {
        var config = Presets.Get("resnet") with
        {
            Model = Small,
            Epochs = 3,
            TrainLimit = 2000,
            BatchSize = 50,
            Ema = 0.99, // 96 steps: the preset's 0.999 would average mostly the warm-up
        };
        var dir = Path.Combine(TestData.TempDir(), "run");
        var result = Trainer.Run(TestData.Fashion.Train, config, dir);
        Assert.True(File.Exists(result.Folder.EmaPath));
        Assert.True(result.BestValAccuracy > 0.3, $"validation {result.BestValAccuracy}");
        var info = result.Folder.ReadInfo();
        Assert.Equal("resnet", info.Config.Model.Arch);
        using var classifier = new TorchClassifier(dir);
        Assert.IsType<ResNetNet>(classifier.Net);
        var probs = classifier.Probabilities(TestData.Fashion.Test.Take(10).Images, tta: Fmnist.Evaluation.TtaMode.Flip);
        Assert.Equal(100, probs.Length);
        Assert.All(Enumerable.Range(0, 10), i => Assert.Equal(1.0, probs.Skip(i * 10).Take(10).Sum(), 3));
    }
}
