using Fmnist.Features;
using Fmnist.Training;

namespace Fmnist.Tests;

/// <summary>Settings the chosen network, optimizer, schedule or augmentation would ignore are refused before any work.</summary>
public class RefusalTests
{
    [Theory]
    [InlineData("--lstm does not apply: only the cnn-lstm network has it, not the resnet network", "--preset", "resnet", "--lstm", "64")]
    [InlineData("--momentum does not apply: only sgd uses it, the optimizer is adam", "--momentum", "0.5")]
    [InlineData("--width does not apply: only the resnet network has it, not the cnn-lstm network", "--width", "16")]
    [InlineData("--whiten-patch does not apply: only the speed network has it, not the resnet network", "--arch", "resnet", "--whiten-patch", "2")]
    [InlineData("--crop-padding does not apply: only --augment crop pads, augment is offline", "--crop-padding", "2")]
    [InlineData("--shear does not apply: only the affine augmentations (offline, online) shear, augment is none", "--augment", "none", "--shear", "0.1")]
    [InlineData("--warmup does not apply: only the cosine schedule warms up, the schedule is constant", "--schedule", "constant", "--warmup", "0.1")]
    public void Train_RefusesWhatWouldNotAct_InOneLine_BeforeAnyWork(string message, params string[] options) =>
        AssertTrainRefused(message, options);

    /// <summary>`train` with <paramref name="options"/> fails with <paramref name="message"/> in one line on stderr,
    /// nothing on stdout, before the data, the lock or the run folder (shared with the other option tests).</summary>
    internal static void AssertTrainRefused(string message, params string[] options)
    {
        var dir = Path.Combine(TestData.TempDir(), "never");
        var (code, stdout, stderr) = InProcessCli.Run(["train", "--out", dir, "--data-dir", "/nonexistent-data", .. options]);
        Assert.NotEqual(0, code);
        Assert.Contains(message, stderr);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Equal("", stdout);
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void Train_RefusesASettingsFileThatSetsWhatWouldNotAct_NamingTheFile()
    {
        var file = Path.Combine(TestData.TempDir(), "levers.json");
        File.WriteAllText(file, """{"preset": "resnet", "model": {"arch": "resnet"}, "optimizer": "sgd", "muon_lr": 0.2}""");
        AssertTrainRefused($"{file}: muon_lr does not apply: Muon takes the speed network's convolutions", "--config", file);
    }

    [Fact]
    public void EveryPresetAndARunsOwnConfig_PassAsSettingsFiles()
    {
        foreach (var name in Presets.Names)
            Assert.Null(Settings.IgnoredChanges(Presets.Get(name), Presets.Get(name)));
        // a run of the fast preset with a network option changed: what the file repeats from its preset is not refused
        var run = Presets.Get("fast") with { Epochs = 3, Model = new Models.ResNet.ResNetConfig() };
        Assert.Null(Settings.IgnoredChanges(Presets.Get("fast"), run));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    public void Train_RefusesAnImpossibleTestLimit_AsAParseError(string limit)
    {
        var dir = Path.Combine(TestData.TempDir(), "never");
        var (code, _, stderr) = InProcessCli.Run("train", "--out", dir, "--data-dir", "/nonexistent-data", "--test-limit", limit);
        Assert.NotEqual(0, code);
        Assert.Contains($"--test-limit must be at least 1, got {limit}", stderr);
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void SettingsThatAct_AreAccepted_AndAPresetsOwnValuesAreNeverRefused()
    {
        foreach (var name in Presets.Names)
            Assert.Null(Settings.Ignored(new ConfigOverrides(), Presets.Get(name)));
        var sgd = ConfigOverrides.Of(("optimizer", OptimizerKind.Sgd), ("momentum", 0.8));
        Assert.Null(Settings.Ignored(sgd, sgd.Apply(Presets.Get("seed"))));
        var crop = ConfigOverrides.Of(("augment", AugmentMode.Crop), ("alternate_flip", true), ("flip_probability", 0.5));
        Assert.Equal("--flip-probability does not apply: --alternate-flip decides the flips", Settings.Ignored(crop, crop.Apply(Presets.Get("seed"))));
    }

    [Fact]
    public void EveryCommittedGrid_HasOnlySettingsThatAct()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(TestData.RepoRoot, "configs"), "*.json"))
        {
            var text = File.ReadAllText(file);
            if (!text.Contains("\"trials\"") && !text.Contains("\"grid\"")) continue;
            var grid = Experiments.SweepGrid.Load(file);
            var e = Record.Exception(() => Experiments.Search.SearchPlan.Create(grid.AllTrials(null, null), grid.BaseConfig(), grid.Halving));
            Assert.True(e is null, $"{file}: {e?.Message}");
        }
    }
}
