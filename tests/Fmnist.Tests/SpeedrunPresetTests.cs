using Fmnist.Models;
using Fmnist.Models.CnnLstm;
using Fmnist.Models.ResNet;
using Fmnist.Models.Speed;
using Fmnist.Reports;
using Fmnist.Training;

namespace Fmnist.Tests;

/// <summary>The fast and best presets, starting from a config file, and the time-to-accuracy figure's input.</summary>
public class SpeedrunPresetTests
{
    [Fact]
    public void Fast_is_the_speed_recipe_and_best_is_it_as_an_ensemble()
    {
        var fast = Presets.Get("fast");
        fast.Validate();
        Assert.Equal(("speed", OptimizerKind.Sgd, 0.85, true), (fast.Model.Arch, fast.Optimizer, fast.Momentum, fast.Augmentation.AlternateFlip));
        Assert.Equal([64, 128, 256], ((SpeedConfig)fast.Model).Widths);
        var best = Presets.Get("best");
        Assert.Equal(JsonFiles.Serialize(fast with { Preset = "best", Epochs = 30 }), JsonFiles.Serialize(best));
        Assert.Equal(2, Presets.EnsembleMembers("best"));
        Assert.All(Presets.Names.Where(n => n != "best"), n => Assert.Equal(1, Presets.EnsembleMembers(n)));
        Assert.Equal("resnet", Presets.Get("resnet").Model.Arch);
    }

    [Fact]
    public void A_config_file_round_trips_from_a_bare_config_and_from_a_run_config()
    {
        var dir = TestData.TempDir();
        var config = Presets.Get("fast") with { Seed = 9, SplitSeed = 4, Epochs = 3 };
        var bare = Path.Combine(dir, "settings.json");
        config.WriteFile(bare);
        Assert.Equal(JsonFiles.Serialize(config), JsonFiles.Serialize(TrainConfig.FromFile(bare)));
        var run = Path.Combine(dir, "config.json");
        JsonFiles.Write(run, new RunInfo(config, new Features.Normalization(0.3, 0.35), new Dictionary<string, string>(), DateTimeOffset.UtcNow));
        Assert.Equal(JsonFiles.Serialize(config), JsonFiles.Serialize(TrainConfig.FromFile(run)));
        File.WriteAllText(bare, "[1, 2]");
        Assert.Contains("settings.json", Assert.Throws<FmnistException>(() => TrainConfig.FromFile(bare)).Message);
    }

    [Fact]
    public void Train_refuses_a_config_file_together_with_a_preset()
    {
        var file = Path.Combine(TestData.TempDir(), "c.json");
        Presets.Get("fast").WriteFile(file);
        var (code, _, err) = InProcessCli.Run("train", "--config", file, "--preset", "seed", "--epochs", "1");
        Assert.NotEqual(0, code);
        Assert.Contains("--config and --preset", err);
    }

    [Fact]
    public void Time_to_accuracy_csv_is_read_checked_and_plotted()
    {
        var dir = TestData.TempDir();
        var csv = Path.Combine(dir, "t.csv");
        File.WriteAllLines(csv, ["label,minutes,test_accuracy,cpu,command", "fast,13.5,0.9462,Zen 4,./fmnist train --preset fast, with a comma", "seed,16,0.9354,Zen 4,./fmnist reproduce", "seed,7.7,0.9354,Zen 5 (bf16),./fmnist reproduce"]);
        var points = TimeToAccuracy.ReadCsv(csv);
        Assert.Equal(["fast", "seed", "seed"], points.Select(p => p.Label));
        // Points are grouped (coloured) by CPU: minutes compare only within one.
        Assert.Equal(["Zen 4", "Zen 4", "Zen 5"], points.Select(p => TimeToAccuracy.CpuName(p.Cpu)));
        Assert.Equal("./fmnist train --preset fast, with a comma", points[0].Command);
        var png = Path.Combine(dir, "t.png");
        TimeToAccuracy.SavePlot(points, png);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(png)[..4]);

        // Labels: right of the marker unless that covers another label; two points at one spot get two places.
        var crowd = new List<AccuracyPoint> { new("a", 20, 0.94, "Zen 4", "x"), new("b", 20, 0.94, "Zen 4", "x"), new("far", 5, 0.90, "Zen 4", "x") };
        var places = TimeToAccuracy.PlaceLabels(crowd);
        Assert.Equal((true, 0.0), places[0]);
        Assert.NotEqual(places[0], places[1]);
        Assert.Equal((true, 0.0), places[2]);

        // Goals: parsed from MINUTES:PERCENT, drawn, and their labels (at the left axis, just below their line) kept free.
        var goal = AccuracyGoal.Parse("60:95.5");
        Assert.Equal((60.0, 0.955), (goal.Minutes, goal.TestAccuracy));
        Assert.Equal("goal: 95.5% in 60 min", goal.Label);
        foreach (var bad in new[] { "60", "60:", "x:95", "60:0", "60:101", "-1:95", "1:2:3" })
            Assert.Contains("MINUTES:PERCENT", Assert.Throws<FmnistException>(() => AccuracyGoal.Parse(bad)).Message);
        var underGoal = new List<AccuracyPoint> { new("near the axis", 0.5, 0.9540, "Zen 4", "x"), new("far", 50, 0.90, "Zen 4", "x") };
        Assert.Equal((true, 0.0), TimeToAccuracy.PlaceLabels(underGoal)[0]);
        Assert.NotEqual((true, 0.0), TimeToAccuracy.PlaceLabels(underGoal, [goal])[0]);
        TimeToAccuracy.SavePlot(points, png, [goal, new AccuracyGoal(15, 0.9473)]);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(png)[..4]);

        // Where no place is free, the one that covers the least: five labels at one spot get five places.
        var pile = Enumerable.Range(0, 5).Select(i => new AccuracyPoint($"p{i}", 20, 0.94, "Zen 4", "x")).ToList();
        Assert.Equal(5, TimeToAccuracy.PlaceLabels(pile).Distinct().Count());

        File.WriteAllLines(csv, ["label,minutes,test_accuracy,cpu,command", "fast,13.5,94.62,Zen 4,x"]);
        Assert.Contains("line 2", Assert.Throws<FmnistException>(() => TimeToAccuracy.ReadCsv(csv)).Message);
        File.WriteAllLines(csv, ["label,minutes"]);
        Assert.Contains("first line", Assert.Throws<FmnistException>(() => TimeToAccuracy.ReadCsv(csv)).Message);
    }

    [Fact]
    public void Bench_curve_draws_the_goals_it_is_given_and_refuses_a_malformed_one()
    {
        var dir = TestData.TempDir();
        var csv = Path.Combine(dir, "t.csv");
        File.WriteAllLines(csv, ["label,minutes,test_accuracy,cpu,command", "fast,13.5,0.9462,Zen 4,x"]);
        var png = Path.Combine(dir, "t.png");
        var (code, stdout, _) = InProcessCli.Run("bench", "curve", "--csv", csv, "--out", png, "--goal", "60:95.5", "--json");
        Assert.Equal(0, code);
        using var json = System.Text.Json.JsonDocument.Parse(stdout);
        Assert.Equal(1, json.RootElement.GetProperty("runs").GetInt32());
        var goal = Assert.Single(json.RootElement.GetProperty("goals").EnumerateArray());
        Assert.Equal(0.955, goal.GetProperty("test_accuracy").GetDouble(), 9);
        Assert.True(File.Exists(png));

        (code, stdout, var err) = InProcessCli.Run("bench", "curve", "--csv", csv, "--out", png, "--goal", "95.5");
        Assert.NotEqual(0, code);
        Assert.Contains("goal '95.5'", err);
    }
}
