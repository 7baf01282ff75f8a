using Fmnist.Models;
using Fmnist.Models.CnnLstm;
using Fmnist.Models.ResNet;
using Fmnist.Models.Speed;
using Fmnist.Experiments;
using System.Text.Json;
using Fmnist.Ensembles;
using Fmnist.Evaluation;
using Fmnist.Export;
using Fmnist.Inference;
using Fmnist.Training;

namespace Fmnist.Tests;

/// <summary>An ensemble folder is one model: its probabilities are the members' mean, in TorchSharp and in one ONNX graph.</summary>
public class EnsembleTests(Xunit.Abstractions.ITestOutputHelper log)
{
    /// <summary>Two random members of different architectures (an ensemble only needs the same classes and input).</summary>
    private static string MakeEnsemble()
    {
        var a = ExportSupport.RandomRunFolder(new SpeedConfig { Widths = [8, 8], WhitenPatch = 2 }, seed: 2, randomBatchNormAffine: true);
        var b = ExportSupport.RandomRunFolder(new ResNetConfig { Width = 4, Blocks = [1, 1] }, seed: 3, randomBatchNormAffine: true);
        var dir = TestData.TempDir();
        foreach (var (src, name) in new[] { (a, "member-1"), (b, "member-2") })
        {
            Directory.CreateDirectory(Path.Combine(dir, name));
            foreach (var f in Directory.GetFiles(src)) File.Copy(f, Path.Combine(dir, name, Path.GetFileName(f)));
        }
        JsonFiles.Write(Path.Combine(dir, "ensemble.json"), new EnsembleInfo(new TrainConfig(), ["member-1", "member-2"], DateTimeOffset.UtcNow));
        return dir;
    }

    [Fact]
    public void A_failed_member_stops_its_siblings_at_once_and_is_reported_in_one_line()
    {
        var dir = Path.Combine(TestData.TempDir(), "ensemble");
        var siblingStopped = new ManualResetEventSlim();
        var started = new CountdownEvent(2);
        RunResult Member(int index, TrainConfig config, string memberDir, bool resume, CancellationToken stop)
        {
            started.Signal();
            started.Wait(TimeSpan.FromSeconds(60)); // both are under way before the first fails
            if (index == 0) throw new FmnistException($"{memberDir}: No space left on device\n  at the stack");
            // The sibling "trains" until it is stopped; the ceiling only ends a regression.
            if (stop.WaitHandle.WaitOne(TimeSpan.FromSeconds(60))) siblingStopped.Set();
            stop.ThrowIfCancellationRequested();
            throw new InvalidOperationException("the sibling was never stopped");
        }
        var config = Presets.Get("fast") with { Epochs = 1 };
        var queued = new List<int>();
        var e = Assert.Throws<FmnistException>(() => EnsembleTrainer.TrainAndTest(TestData.Fashion, config, 3, dir,
            (i, c, d, r, stop) => { lock (queued) queued.Add(i); return Member(i, c, d, r, stop); }, parallel: 2));
        Assert.True(siblingStopped.IsSet, "the running sibling was not stopped");
        Assert.DoesNotContain(2, queued); // the third member never started
        Assert.StartsWith("member 1/3 failed: ", e.Message);
        Assert.Contains("No space left on device", e.Message);
        Assert.Contains("the other 2 unfinished were stopped", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void Ensemble_probabilities_are_the_mean_of_its_members()
    {
        var dir = MakeEnsemble();
        var images = ExportSupport.TestImages(50);
        using var ensemble = (EnsembleClassifier)Classifiers.Open(dir);
        using var m1 = new TorchClassifier(Path.Combine(dir, "member-1"));
        using var m2 = new TorchClassifier(Path.Combine(dir, "member-2"));
        foreach (var tta in new[] { TtaMode.None, TtaMode.Flip })
        {
            var (p1, p2) = (m1.Probabilities(images, tta), m2.Probabilities(images, tta));
            Assert.Equal(p1.Zip(p2, (x, y) => (x + y) / 2), ensemble.Probabilities(images, tta));
        }
        Assert.Equal(m1.Description.Parameters + m2.Description.Parameters, ensemble.Description.Parameters);
    }

    [Fact]
    public void One_onnx_graph_averages_the_members_as_TorchSharp_does()
    {
        var dir = MakeEnsemble();
        var images = ExportSupport.TestImages(80);
        using var ensemble = Classifiers.Open(dir);
        foreach (var tta in new[] { TtaMode.None, TtaMode.Flip })
        {
            var file = OnnxExporter.Export(dir, Path.Combine(TestData.TempDir(), "ensemble.onnx"), tta).File;
            using var onnx = new OnnxClassifier(file);
            log.WriteLine($"{tta}: max |dp| {ExportSupport.AssertAgree(ensemble.Probabilities(images, tta), onnx.Probabilities(images), 1e-4):E2}");
            var model = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(file));
            Assert.Contains(model.MetadataProps, p => p.Key == OnnxMetadata.Members && p.Value == "2");
            // each member's weights under its own prefix
            Assert.Contains(model.Graph.Initializer, t => t.Name == "m1.whiten.weight");
            Assert.Contains(model.Graph.Initializer, t => t.Name.StartsWith("m2.stem", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void A_pytorch_export_of_an_ensemble_is_refused_in_one_line()
    {
        var dir = MakeEnsemble();
        var e = Assert.Throws<FmnistException>(() => PyTorchExporter.Export(dir));
        Assert.Contains("an ensemble", e.Message);
        Assert.Contains("member-1, member-2", e.Message);
    }

    /// <summary>Real processes: the parent trains two members side by side in child processes of one thread,
    /// scores the average once, and evaluate takes the folder as one model; a rerun reuses the members.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void Train_ensemble_in_parallel_processes_writes_one_model_that_evaluate_takes()
    {
        var data = CliProcess.SmallDataset(train: 400, test: 200);
        var dir = Path.Combine(TestData.TempDir(), "ens");
        string[] args = ["train", "--data-dir", data, "--out", dir, "--arch", "speed", "--widths", "8,16", "--epochs", "1", "--batch-size", "50",
            "--augment", "crop", "--alternate-flip", "true", "--ensemble", "2", "--ensemble-parallel", "2", "--time-budget", "30", "--json"];
        var (code, output, err) = CliProcess.Run(args);
        Assert.True(code == 0, err);
        using var result = JsonDocument.Parse(output);
        var root = result.RootElement;
        Assert.Equal(2, root.GetProperty("members").GetInt32());
        Assert.Equal(2, root.GetProperty("parallel").GetInt32());
        double test = root.GetProperty("test_accuracy").GetDouble();
        // The budget was planned from a member's speed measured as it runs (a child process of one thread), and
        // 30 minutes hold the one epoch asked for.
        var budget = root.GetProperty("time_budget");
        Assert.Equal(1, budget.GetProperty("threads").GetInt32());
        Assert.True(budget.GetProperty("images_per_second").GetDouble() > 0);
        Assert.Equal(1, budget.GetProperty("epochs").GetInt32());

        var folder = new EnsembleFolder(dir);
        var configs = folder.MemberDirs().Select(d => new RunFolder(d).ReadInfo().Config).ToList();
        Assert.Equal([1, 2], configs.Select(c => c.Seed));
        Assert.All(configs, c => Assert.Equal(1, c.SplitSeed)); // one validation split for all
        Assert.All(folder.MemberDirs(), d => Assert.Contains("\"threads\": \"1\"", File.ReadAllText(Path.Combine(d, "config.json"))));

        var (evalCode, evalOut, evalErr) = CliProcess.Run("evaluate", "--data-dir", data, "--model", dir, "--json");
        Assert.True(evalCode == 0, evalErr);
        using var evaluation = JsonDocument.Parse(evalOut);
        Assert.Equal(test, evaluation.RootElement.GetProperty("accuracy").GetDouble(), 10);

        var (again, againOut, againErr) = CliProcess.Run([.. args.Where(a => a != "--json"), "--resume"]);
        Assert.True(again == 0, againErr);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(againOut + againErr, "already trained").Count);
        Assert.Contains("time budget 30 min: resuming with the 1 epoch the run started with", againOut + againErr);
    }
}
