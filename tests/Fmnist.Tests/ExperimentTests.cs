using Fmnist.Models;
using Fmnist.Models.CnnLstm;
using Fmnist.Models.ResNet;
using Fmnist.Models.Speed;
using System.Text.Json;
using Fmnist.Evaluation;
using Fmnist.Experiments;
using Fmnist.Models.Knn;
using Fmnist.Reports;
using Fmnist.Training;

namespace Fmnist.Tests;

public class ExperimentTests
{
    private static string WriteGrid(string json)
    {
        var path = Path.Combine(TestData.TempDir(), "grid.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void Seed_grid_file_holds_the_seed_table_in_order()
    {
        var trials = SweepGrid.Load(Path.Combine(TestData.RepoRoot, "configs", "seed-grid.json")).Expand();
        Assert.Equal(Models.CnnLstm.SeedTable.Published.Select(r => (r.BatchSize, r.Dropout1, r.Dropout2, r.Lstm, r.Dense)),
            trials.Select(t => (t.Value<int?>("batch_size")!.Value, t.Value<double?>("dropout1")!.Value, t.Value<double?>("dropout2")!.Value, t.Value<int?>("lstm")!.Value, t.Value<int?>("dense")!.Value)));
    }

    [Fact]
    public void The_embedded_seed_grid_is_the_file_in_configs()
    {
        // reproduce --full-sweep reads the embedded copy, so it works from an installed tool in any directory.
        var fromFile = SweepGrid.Load(Path.Combine(TestData.RepoRoot, "configs", "seed-grid.json")).Expand();
        var embedded = SweepGrid.Seed().Expand();
        Assert.Equal(8, embedded.Count);
        Assert.Equal(JsonSerializer.Serialize(fromFile, ConfigOverrides.Json), JsonSerializer.Serialize(embedded, ConfigOverrides.Json));
    }

    [Fact]
    public void Axes_are_crossed_after_the_listed_trials_without_duplicates()
    {
        var grid = SweepGrid.Load(WriteGrid("""{"trials":[{"lstm":128,"batch_size":128}],"axes":{"batch_size":[128,256],"lstm":[128,256]}}"""));
        var trials = grid.Expand();
        Assert.Equal(4, trials.Count); // (128,128) is listed once
        Assert.Equal(ConfigOverrides.Of(("batch_size", 128), ("lstm", 128)), trials[0]);
        Assert.Contains(ConfigOverrides.Of(("batch_size", 256), ("lstm", 256)), trials);
        var config = trials[^1].Apply(new TrainConfig());
        Assert.Equal("b256-d0.4-0.5-lstm256-dense128", TrialNames.Of(config));
    }

    [Fact]
    public void Ablation_grid_starts_every_trial_from_the_best_preset_and_its_base_settings()
    {
        var grid = SweepGrid.Load(Path.Combine(TestData.RepoRoot, "configs", "ablation.json"));
        var b = grid.BaseConfig();
        Assert.Equal("resnet", b.Model.Arch);
        Assert.Equal([1, 1, 1], ((ResNetConfig)b.Model).Blocks);
        Assert.Equal(Presets.Get("resnet").Ema, b.Ema);
        Assert.Equal(30000, b.TrainLimit);
        var trials = grid.Expand();
        Assert.Equal(new ConfigOverrides(), trials[0]); // the full recipe first
        var noEma = trials.Single(t => t.Value<double?>("ema") == 0).Apply(b);
        Assert.Equal(b with { Ema = 0 }, noEma with { Model = b.Model }); // one part removed, all else kept
        Assert.Equal("ema 0", SweepReport.Describe(trials.Single(t => t.Value<double?>("ema") == 0)));
        Assert.Equal("learning_rate 0.002, optimizer adam_w, weight_decay 0.05", SweepReport.Describe(trials.Single(t => t.Value<OptimizerKind?>("optimizer") is not null)));
        Assert.Equal("none (the base)", SweepReport.Describe(trials[0]));
        Assert.Equal("resnet-b128-ema0", TrialNames.Of(noEma, trials.Single(t => t.Value<double?>("ema") == 0)));
    }

    [Fact]
    public void A_grid_without_a_preset_starts_from_the_seed_recipe()
    {
        static string J(TrainConfig c) => System.Text.Json.JsonSerializer.Serialize(c, JsonFiles.Options);
        Assert.Equal(J(Presets.Get("seed")), J(SweepGrid.Load(WriteGrid("""{"axes":{"lstm":[16,32]}}""")).BaseConfig()));
    }

    [Fact]
    public void A_resnet_sweep_table_lists_what_each_trial_changes()
    {
        var resnet = new TrainConfig { Model = new ResNetConfig() };
        SweepTrial T(string name, double val, ConfigOverrides changes) =>
            new(name, Result(name, val, 0.9) with { Config = changes.Apply(resnet) }, false, changes);
        var trials = new[] { T("a", 0.91, new ConfigOverrides()), T("b", 0.92, ConfigOverrides.Of(("erase_probability", 0))) };
        var md = SweepReport.Markdown(new SweepResult("/x", trials, trials[1], "/x/best_model"));
        Assert.Contains("| none (the base) | 1 | 91.00% | 90.00% | 1.0 |", md);
        Assert.Contains("| **erase_probability 0** | 1 | **92.00%** | 90.00% | 1.0 |", md);
        Assert.DoesNotContain("LSTM", md);
    }

    [Theory]
    [InlineData("""{"axes":{"colour":[1,2]}}""", "unknown setting 'colour'")]
    [InlineData("""{"preset":"fastest","trials":[{}]}""", "unknown preset 'fastest'")]
    [InlineData("""{"base":{"epoch":3},"trials":[{}]}""", "unknown setting 'epoch'")]
    [InlineData("""{"trials":[{"lstm":128,"size":3}]}""", "unknown setting 'size'")]
    [InlineData("""{"trials":[]}""", "the grid has no trials")]
    [InlineData("""[1,2""", "invalid grid")]
    public void Bad_grids_get_their_own_error(string json, string expected)
    {
        var path = WriteGrid(json);
        var e = Assert.Throws<FmnistException>(() => SweepGrid.Load(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    private static RunResult Result(string name, double val, double test) =>
        new(name, new TrainConfig(), 1, val, test, 60, 100, 20, 50, [new EpochRecord(1, 0.5, 0.8, 0.4, val, 1e-3, 60, 100)]);

    [Fact]
    public void Best_trial_is_chosen_by_validation_accuracy_never_test()
    {
        var trials = new[]
        {
            new SweepTrial("a", Result("a", 0.90, 0.95), false),
            new SweepTrial("b", Result("b", 0.93, 0.91), false),
            new SweepTrial("c", Result("c", 0.93, 0.99), false),
        };
        Assert.Equal("b", Sweep.SelectBest(trials).Name); // highest validation; the tie goes to the earlier trial
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Sweep_skips_finished_trials_and_keeps_the_best_model_loadable()
    {
        var grid = SweepGrid.Load(WriteGrid("""{"axes":{"lstm":[16,32]}}""")).Expand();
        var config = new TrainConfig { TrainLimit = 600, Epochs = 1, BatchSize = 64, Model = new CnnLstmConfig { Dense = 16 } };
        var dir = Path.Combine(TestData.TempDir(), "sweep");
        var first = Sweep.Run(TestData.Fashion, grid, config, dir, testLimit: 200);
        Assert.All(first.Trials, t => Assert.False(t.Skipped));
        var again = Sweep.Run(TestData.Fashion, grid, config, dir, testLimit: 200);
        Assert.All(again.Trials, t => Assert.True(t.Skipped));
        Assert.Equal(first.Best.Name, again.Best.Name);
        var (net, info) = new RunFolder(again.BestModelDir).LoadBest();
        net.Dispose();
        Assert.Equal(((CnnLstmConfig)first.Best.Result.Config.Model).Lstm, ((CnnLstmConfig)info.Config.Model).Lstm);
        foreach (var file in new[] { "sweep.md", "sweep.csv", "sweep.json", "val_curves.png" })
            Assert.True(File.Exists(Path.Combine(dir, file)), file);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(dir, "sweep.csv")).Length);
        Assert.Throws<FmnistException>(() => Sweep.Run(TestData.Fashion, grid, config with { Epochs = 2 }, dir, testLimit: 200));
    }

    [Fact]
    public void Report_renders_the_fixture_results_as_the_snapshot()
    {
        var confusion = new int[10, 10];
        for (int i = 0; i < 10; i++) { confusion[i, i] = 90; confusion[i, (i + 3) % 10] = 10; }
        var predicted = new List<byte>();
        var actual = new List<byte>();
        for (int i = 0; i < 10; i++)
            for (int j = 0; j < 10; j++)
                for (int n = 0; n < confusion[i, j]; n++) { actual.Add((byte)i); predicted.Add((byte)j); }
        var best = Result("runs/x/cnn-seed", 0.9388, 0.9361);
        var results = new ReproduceResults
        {
            Quick = false,
            Date = new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero),
            Machine = new MachineInfo("Test CPU", 2, 24, "Debian 12", "10.0.0", "0.107.0"),
            Data = new DataSummary("/data", "test", 60000, 10000, true),
            Knn = new KnnSummary(127, 60000, 10000, [(1, 0.7848), (9, 0.7972)], 0.8),
            KnnTuned = new KnnTuning(new KnnTrial(12, 7, KnnWeights.Distance, 0.8711, true), [], 48000, 12000, 0.8686, 30),
            CnnRuns = [best],
            BestCnn = best,
            BestMetrics = Metrics.From(predicted.ToArray(), actual.ToArray()),
            Calibration = new CalibrationReport(1.63, "temperature 1.63 fitted on the run's validation split", new Trust.CalibrationScore(0.2148, 0.0311),
                new Trust.CalibrationScore(0.1806, 0.0066), "runs/x/reliability.png"),
            Steps = [new StepTiming("KNN table", 1.2, "./fmnist knn"), new StepTiming("train", 900, "./fmnist train --out runs/x/cnn-seed")],
        };
        var rendered = ReproduceReport.Render(results);
        var snapshot = Path.Combine(TestData.RepoRoot, "tests", "Fmnist.Tests", "Snapshots", "report.md");
        if (Environment.GetEnvironmentVariable("UPDATE_SNAPSHOTS") == "1") File.WriteAllText(snapshot, rendered);
        Assert.Equal(File.ReadAllText(snapshot), rendered);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Quick_reproduce_runs_end_to_end_and_says_it_is_quick()
    {
        var dir = Path.Combine(TestData.TempDir(), "reproduce");
        var results = Reproduce.Run(new ReproduceOptions { OutDir = dir, Quick = true, QuickTrainLimit = 1500, QuickEpochs = 1 }, new NoSteps());
        var report = File.ReadAllText(Path.Combine(dir, "report.md"));
        Assert.Contains("**Quick run.**", report);
        Assert.Contains("| 1 | 78.48% | 78.48% |", report); // the real KNN table, full data
        Assert.Contains("Calibration: a temperature of", report);
        foreach (var png in new[] { "examples.png", "curves.png", "confusion.png", "errors.png", "reliability.png" })
            Assert.True(File.Exists(Path.Combine(dir, png)), png);
        Assert.Equal(4, results.Steps.Count);
    }

    private sealed class NoSteps : IStepProgress
    {
        public void StepStarted(int step, int steps, string name, TimeSpan estimate, TimeSpan remaining) { }
        public void StepDone(int step, string name, TimeSpan took) { }
        public ITrainingProgress Training(string label) => SilentProgress.Instance;
    }
}
