using System.Text.Json;
using Fmnist.Experiments;
using Fmnist.Features;
using Fmnist.Training;
using SkiaSharp;

namespace Fmnist.Tests;

[Collection("trained model")]
[Trait("Category", "Slow")]
public class TrainingTests(TrainedModelFixture model)
{
    [Fact]
    public void Short_training_on_real_data_learns()
    {
        Assert.True(model.Result.ValAccuracy > 0.7, $"validation accuracy {model.Result.ValAccuracy}");
        Assert.True(model.Result.TestAccuracy > 0.7, $"test accuracy {model.Result.TestAccuracy}");
        Assert.True(model.Result.History[^1].TrainLoss < model.Result.History[0].TrainLoss);
    }

    [Fact]
    public void Run_folder_holds_everything_to_reload_the_model()
    {
        var f = new RunFolder(model.Directory);
        foreach (var path in new[] { f.ConfigPath, f.ModelPath, f.CheckpointPath, f.OptimizerPath, f.StatePath, f.HistoryJsonPath,
                     f.HistoryCsvPath, f.CurvesPath, f.SummaryPath, f.ResultPath })
            Assert.True(File.Exists(path), path);
        var info = f.ReadInfo();
        Assert.Equal(TrainedModelFixture.Config, info.Config with { });
        Assert.Equal(3, File.ReadAllLines(f.HistoryCsvPath).Length);
        Assert.Contains("torchsharp", info.Versions.Keys);
        Assert.Empty(Directory.GetFiles(f.Directory, "*.tmp"));
    }

    [Fact]
    public void Evaluate_reports_metrics_and_writes_figures()
    {
        var test = TestData.Fashion.Test.Take(500);
        var dir = TestData.TempDir();
        var report = EvaluationWorkflow.Evaluate(model.Directory, test, dir);
        Assert.Equal(500, report.TestImages);
        int total = 0;
        foreach (var v in report.Metrics.Confusion) total += v;
        Assert.Equal(500, total);
        Assert.Equal(10, report.Metrics.PerClass.Count);
        Assert.True(report.Metrics.Accuracy > 0.7);
        Assert.NotNull(SKBitmap.Decode(report.ConfusionPng));
        Assert.NotNull(SKBitmap.Decode(report.ErrorsPng));
    }

    [Fact]
    public void Predict_classifies_a_photo_made_from_a_test_image()
    {
        // A trouser from the test set, drawn dark-on-white and 10x larger, as a photo would be.
        var test = TestData.Fashion.Test;
        int index = Enumerable.Range(0, 200).First(i => test.Labels[i] == 1);
        var path = Path.Combine(TestData.TempDir(), "trouser.png");
        using (var bmp = new SKBitmap(280, 280))
        {
            for (int y = 0; y < 280; y++)
            for (int x = 0; x < 280; x++)
            {
                byte v = (byte)(255 - test.Image(index)[y / 10 * 28 + x / 10]);
                bmp.SetPixel(x, y, new SKColor(v, v, v));
            }
            using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(path, data.ToArray());
        }
        var prediction = EvaluationWorkflow.Predict([model.Directory], [path], TestData.Fashion.Train).Predictions.Single();
        Assert.Equal(3, prediction.Top.Count);
        Assert.Equal("Trouser", prediction.Top[0].Class);
        Assert.True(prediction.Top[0].Probability >= prediction.Top[1].Probability);
    }

    private static string CopyRun(string source)
    {
        var dir = Path.Combine(TestData.TempDir(), "copy");
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        return dir;
    }

    [Fact]
    public void Corrupt_weights_get_their_own_error()
    {
        var dir = CopyRun(model.Directory);
        File.WriteAllBytes(Path.Combine(dir, "model.pt"), [1, 2, 3, 4, 5]);
        var e = Assert.Throws<FmnistException>(() => new RunFolder(dir).LoadBest());
        Assert.StartsWith(Path.Combine(dir, "model.pt") + ": ", e.Message);
    }

    [Fact]
    public void Config_that_does_not_match_the_weights_is_reported()
    {
        var dir = CopyRun(model.Directory);
        var configPath = Path.Combine(dir, "config.json");
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"lstm\": 32", "\"lstm\": 48"));
        var e = Assert.Throws<FmnistException>(() => new RunFolder(dir).LoadBest());
        Assert.Contains("weights do not match config.json", e.Message);
    }

    [Fact]
    public void Missing_or_broken_config_is_reported()
    {
        var dir = CopyRun(model.Directory);
        File.WriteAllText(Path.Combine(dir, "config.json"), "{ not json");
        Assert.Contains("config.json: invalid JSON", Assert.Throws<FmnistException>(() => new RunFolder(dir).LoadBest()).Message);
        File.Delete(Path.Combine(dir, "config.json"));
        Assert.Equal($"{new RunFolder(dir).Directory}: not a run folder (no config.json)",
            Assert.Throws<FmnistException>(() => new RunFolder(dir).LoadBest()).Message);
    }

    [Fact]
    public void Interrupted_run_resumes_where_it_stopped()
    {
        var config = TrainedModelFixture.Config with { TrainLimit = 1200, Epochs = 2, BatchSize = 100 };
        var dir = Path.Combine(TestData.TempDir(), "resume");
        Assert.Throws<OperationCanceledException>(() => Trainer.Run(TestData.Fashion.Train, config, dir,
            afterEpoch: (_, history) => { if (history.Count == 1) throw new OperationCanceledException(); }));
        var firstEpoch = JsonFiles.Read<CheckpointState>(new RunFolder(dir).StatePath).History.Single();

        var e = Assert.Throws<RunExistsException>(() => Trainer.Run(TestData.Fashion.Train, config, dir));
        Assert.Contains("already holds a run", e.Message);
        Assert.Throws<FmnistException>(() => Trainer.Run(TestData.Fashion.Train, config with { Seed = 9 }, dir, resume: true));

        var resumed = Trainer.Run(TestData.Fashion.Train, config, dir, resume: true);
        Assert.True(resumed.Resumed);
        Assert.Equal([1, 2], resumed.History.Select(h => h.Epoch));
        Assert.Equal(firstEpoch, resumed.History[0]);
    }

    [Fact]
    public void Ensemble_averages_its_members_probabilities()
    {
        var second = Path.Combine(TestData.TempDir(), "second");
        Trainer.Run(TestData.Fashion.Train, TrainedModelFixture.Config with { Epochs = 1 }, second);
        var images = TestData.Fashion.Test.Take(300).Images;
        var a = EvaluationWorkflow.Probabilities([model.Directory], images);
        var b = EvaluationWorkflow.Probabilities([second], images);
        Assert.NotEqual(a, b);
        Assert.Equal(a.Zip(b, (x, y) => (x + y) / 2), EvaluationWorkflow.Probabilities([model.Directory, second], images));
        Assert.Equal(a, EvaluationWorkflow.Probabilities([model.Directory, model.Directory], images));

        var report = EvaluationWorkflow.Evaluate([model.Directory, second], TestData.Fashion.Test.Take(300), Path.Combine(TestData.TempDir(), "ensemble"));
        Assert.Equal(2, report.ModelDirs.Count);
        Assert.True(File.Exists(report.ConfusionPng));

        // Both held out the same images, so the ensemble can be validated; a member with another split cannot.
        Assert.Equal(model.Result.ValidationImages, EvaluationWorkflow.ValidationSet([model.Directory, second], TestData.Fashion.Train).Count);
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(second, "config.json")))!;
        config["config"]!["seed"] = 2;
        File.WriteAllText(Path.Combine(second, "config.json"), config.ToJsonString());
        var e = Assert.Throws<FmnistException>(() => EvaluationWorkflow.ValidationSet([model.Directory, second], TestData.Fashion.Train));
        Assert.Contains("held out other validation images", e.Message);
    }

    [Fact]
    public void Validation_fraction_zero_trains_on_every_image_and_keeps_the_last_epoch()
    {
        var config = TrainedModelFixture.Config with { TrainLimit = 600, Epochs = 2, BatchSize = 100, ValidationFraction = 0 };
        var dir = Path.Combine(TestData.TempDir(), "no-validation");
        var result = TrainingWorkflow.TrainAndTest(TestData.Fashion, config, dir, testLimit: 200);

        Assert.Null(result.ValAccuracy);
        Assert.Equal(2, result.BestEpoch);
        Assert.Equal(600, result.TrainImages); // all of them (the fixture trains without augmentation)
        Assert.Equal(0, result.ValidationImages);
        Assert.All(result.History, h => Assert.Null(h.ValAccuracy));
        Assert.Equal(result.History, JsonFiles.Read<RunResult>(new RunFolder(dir).ResultPath).History);
        var row = File.ReadAllLines(new RunFolder(dir).HistoryCsvPath)[1].Split(',');
        Assert.Equal(("", ""), (row[3], row[4])); // val_loss, val_accuracy left empty
        var e = Assert.Throws<FmnistException>(() => EvaluationWorkflow.ValidationSet(dir, TestData.Fashion.Train));
        Assert.Contains("no validation images", e.Message);
    }
}

public class DivergenceTests
{
    [Theory]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "Infinity")]
    public void Non_finite_loss_stops_training_with_a_clear_message(double loss, string shown)
    {
        var e = Assert.Throws<TrainingDivergedException>(() => Trainer.CheckFinite(loss, 3, 17, 0.5));
        Assert.Equal($"training diverged: loss is {shown} at epoch 3, batch 17; try a lower learning rate (now 0.5)", e.Message);
        Trainer.CheckFinite(2.3, 1, 1, 0.5); // a finite loss passes
    }
}
