using Fmnist.Models.Speed;
using Fmnist.Models.ResNet;
using Fmnist.Models.CnnLstm;
using Fmnist.Models;
using static Fmnist.Tests.InProcessCli;
using Fmnist.Evaluation;
using Fmnist.Experiments;
using Fmnist.Features;
using Fmnist.Training;

namespace Fmnist.Tests;

/// <summary>The defects a new user hit, each pinned by a test, and the one-place helpers that replaced copies.</summary>
public class HouseTests
{
    [Fact]
    public void Train_out_pointing_at_a_file_is_a_usage_error()
    {
        var file = Path.Combine(TestData.TempDir(), "taken.txt");
        File.WriteAllText(file, "keep me");
        var (code, output, err) = Run("train", "--out", file, "--train-limit", "100", "--epochs", "1");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Equal($"fmnist: --out {file}: is a file, not a folder", err.Trim());
        Assert.Equal("keep me", File.ReadAllText(file));
    }

    [Fact]
    public void Train_into_a_folder_holding_a_run_says_how_to_resume()
    {
        var dir = TestData.TempDir();
        File.WriteAllText(Path.Combine(dir, "checkpoint.json"), "{}");
        var (code, _, err) = Run("train", "--out", dir, "--train-limit", "100", "--epochs", "1");
        Assert.Equal(1, code);
        Assert.Equal($"fmnist: {dir}: already holds a run; pass --resume to continue it or choose another --out", err.Trim());
    }

    private sealed class RecordingProgress : ITrainingProgress
    {
        public List<string> Messages { get; } = [];
        public void Message(string text) => Messages.Add(text);
        public void EpochStarted(int epoch, int epochs, int batches) { }
        public void BatchDone(int batch, double runningLoss, double imagesPerSecond) { }
        public void EpochDone(EpochRecord record, bool best) { }
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Resume_without_a_run_says_it_starts_a_new_one()
    {
        var dir = Path.Combine(TestData.TempDir(), "fresh");
        var progress = new RecordingProgress();
        var config = new TrainConfig { Augment = AugmentMode.None, BatchSize = 50, Epochs = 1, TrainLimit = 100, Model = new CnnLstmConfig { Lstm = 8, Dense = 8 } };
        var result = Trainer.Run(TestData.Fashion.Train, config, dir, progress, resume: true);
        Assert.False(result.Resumed);
        Assert.Contains($"{Path.GetFullPath(dir)}: no interrupted run to resume; starting a new one", progress.Messages);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void A_resumed_auto_run_keeps_the_precision_it_started_with()
    {
        // `auto` measures bf16's speed; a resumed run must not measure again and change its arithmetic.
        var dir = Path.Combine(TestData.TempDir(), "auto-resume");
        var config = new TrainConfig { Augment = AugmentMode.None, BatchSize = 50, Epochs = 2, TrainLimit = 150, Precision = Precision.Auto,
            Model = new CnnLstmConfig { Lstm = 8, Dense = 8 } };
        Assert.Throws<OperationCanceledException>(() => Trainer.Run(TestData.Fashion.Train, config, dir,
            afterEpoch: (_, history) => { if (history.Count == 1) throw new OperationCanceledException(); }));
        var folder = new RunFolder(dir);
        var info = folder.ReadInfo();
        var started = info.Compute!;
        Assert.StartsWith("auto:", started.PrecisionReason);
        // Pretend the first start chose the other precision; the resume must take that one, not a fresh choice.
        var other = started.Precision == "bf16" ? "fp32" : "bf16";
        JsonFiles.Write(folder.ConfigPath, info with { Compute = started with { Precision = other, PrecisionReason = "auto: chosen at the start" } });
        var progress = new RecordingProgress();
        var resumed = Trainer.Run(TestData.Fashion.Train, config, dir, progress, resume: true);
        Assert.True(resumed.Resumed);
        Assert.Contains($"precision {other}: auto: chosen at the start (when the run started; kept on resume)", progress.Messages);
        Assert.Equal(other, resumed.History[^1].Precision);
    }

    [Fact]
    public void Preview_into_a_missing_folder_is_a_usage_error()
    {
        var path = Path.Combine(TestData.TempDir(), "no", "such", "preview.png");
        var (code, _, err) = Run("data", "--preview", path);
        Assert.Equal(1, code);
        Assert.Equal($"fmnist: --preview {path}: folder {Path.GetDirectoryName(path)} does not exist", err.Trim());
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void Preview_into_a_folder_is_refused_with_the_same_wording_as_export()
    {
        var dir = TestData.TempDir();
        var (code, _, err) = Run("data", "--preview", dir);
        Assert.Equal(1, code);
        Assert.Equal($"fmnist: --preview {dir}: is a directory; give a file name such as {Path.Combine(dir, "preview.png")}", err.Trim());
    }

    [Fact]
    public void Predict_and_summary_take_no_data_dir()
    {
        var (code, _, err) = Run("summary", "--data-dir", "/tmp");
        Assert.NotEqual(0, code);
        Assert.Contains("--data-dir", err);
    }

    [Fact]
    public void Help_shows_the_improved_presets_values_from_the_preset()
    {
        var improved = Presets.Get("improved");
        var (code, output, _) = Run("train", "--help");
        Assert.Equal(0, code);
        var (resnet, fast, best) = (Presets.Get("resnet"), Presets.Get("fast"), Presets.Get("best"));
        // "best" is named where it differs from "fast" (its epochs), and only there.
        Assert.Contains($"Passes over the training images [default: 10; improved: {improved.Epochs}; resnet: {resnet.Epochs}; fast: {fast.Epochs}; best: {best.Epochs}]", output);
        Assert.DoesNotContain("best: sgd", output);
        Assert.Contains($"improved: {improved.LabelSmoothing}", output);
        Assert.Contains($"improved: {improved.Augmentation.Shear}", output);
    }

    [Fact]
    public void Overrides_apply_only_what_is_set_and_later_ones_win()
    {
        var baseConfig = Presets.Get("improved");
        var o = ConfigOverrides.Of(("lstm", 64), ("epochs", 3)).Then(ConfigOverrides.Of(("epochs", 4), ("flip_probability", 0)));
        var c = o.Apply(baseConfig);
        Assert.Equal(baseConfig with { Epochs = 4, Model = (CnnLstmConfig)baseConfig.Model with { Lstm = 64 }, Augmentation = baseConfig.Augmentation with { FlipProbability = 0 } }, c);
        Assert.Equal(baseConfig, new ConfigOverrides().Apply(baseConfig));
    }

    [Fact]
    public void Grid_axes_accept_every_override_name_and_refuse_unknown_ones()
    {
        var dir = TestData.TempDir();
        var good = Path.Combine(dir, "good.json");
        File.WriteAllText(good, """{"axes":{"learning_rate":[0.001,0.002],"augment":["online"]}}""");
        var trials = SweepGrid.Load(good).Expand();
        Assert.Equal([0.001, 0.002], trials.Select(t => t.Value<double?>("learning_rate")!.Value));
        Assert.All(trials, t => Assert.Equal(AugmentMode.Online, t.Value<AugmentMode?>("augment")));
        Assert.NotEqual(TrialNames.Of(trials[0].Apply(new TrainConfig()), trials[0]), TrialNames.Of(trials[1].Apply(new TrainConfig()), trials[1]));
        var bad = Path.Combine(dir, "bad.json");
        File.WriteAllText(bad, """{"axes":{"lstmm":[1]}}""");
        var e = Assert.Throws<FmnistException>(() => SweepGrid.Load(bad));
        Assert.StartsWith($"{bad}: unknown setting 'lstmm'", e.Message);
    }

    [Fact]
    public void Atomic_write_leaves_nothing_behind_when_the_writer_fails()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "out.bin");
        File.WriteAllText(path, "old");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, tmp =>
        {
            File.WriteAllText(tmp, "half");
            throw new InvalidOperationException("boom");
        }));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(dir));
        var e = Assert.Throws<FmnistException>(() => AtomicFile.WriteAllText(dir, "x"));
        Assert.Equal($"{dir}: is a directory, not a file", e.Message);
    }

    /// <summary>
    /// The defect: after a few dozen batches BatchNorm's running statistics are still near their initial
    /// values, so eval mode scored at chance. Recomputed statistics must bring eval mode in line with what
    /// the weights learned (train-mode accuracy on the same images).
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void Recomputed_batchnorm_statistics_make_a_short_run_usable_in_eval_mode()
    {
        var set = TestData.Fashion.Train.Take(2560);
        var norm = Normalization.FromImages(set);
        var config = new TrainConfig { Augment = AugmentMode.None, BatchSize = 128, Epochs = 1 };
        using var step = new TrainingStep(config, norm);
        using var images = Evaluator.ImageTensor(set.Images);
        using var labels = Evaluator.LabelTensor(set.Labels);
        var rng = new Random(1);
        for (int b = 0; b < 20; b++)
            step.Run(images, labels, Enumerable.Range(b * 128, 128).Select(i => (long)i).ToArray(), rng, b, 20);
        var val = TestData.Fashion.Test.Take(1000);
        double before = Evaluator.Score(step.Net, val, norm).Accuracy;
        BatchNormCalibration.Run(step.Net, images, norm);
        double after = Evaluator.Score(step.Net, val, norm).Accuracy;
        Assert.True(before < 0.5, $"eval accuracy before calibration {before}: the defect did not show, the test proves nothing");
        Assert.True(after > 0.65, $"eval accuracy after calibration {after}");
    }
}
