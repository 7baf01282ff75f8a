using System.Text.Json;
using Fmnist.Experiments.Search;

namespace Fmnist.Tests;

/// <summary>Several real `fmnist sweep` processes on one sweep folder: workers, array tasks, a killed worker.</summary>
[Trait("Category", "Slow")]
public class SweepWorkerTests
{
    /// <summary>Tiny trials: 4 sampled, successive halving at epoch 1 keeps 2 of them for epoch 2.</summary>
    public const string HalvingSearch = """
        {"base":{"train_limit":200,"epochs":2,"batch_size":32,"dense":8},
         "space":{"lstm":{"choice":[8,16]},"learning_rate":{"log_uniform":[0.001,0.01]}},"samples":4,
         "halving":{"rungs":[1],"eta":2}}
        """;

    public static string WriteGrid(string dir, string json)
    {
        var path = Path.Combine(dir, "search.json");
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>What must agree between two runs of one search: each trial's name, outcome, epochs and accuracies (not its minutes).</summary>
    public static IReadOnlyList<string> Table(string sweepJson) =>
        SweepProcess.Json(sweepJson).GetProperty("trials").EnumerateArray()
            .Select(t => string.Join(" | ", new[] { "name", "outcome", "epochs", "val_accuracy", "test_accuracy" }.Select(k => t.GetProperty(k).GetRawText())))
            .ToList();

    [Fact]
    public void Workers_and_array_tasks_sharing_a_folder_run_each_job_once_and_give_the_table_of_one_process()
    {
        var root = TestData.TempDir();
        var grid = WriteGrid(root, HalvingSearch);
        var shared = Path.Combine(root, "shared");
        string[] Args(params string[] more) => ["sweep", "--grid", grid, "--out", shared, "--test-limit", "200", "--json", .. more];
        using var w1 = SweepProcess.Fmnist(Args("--worker"));
        using var w2 = SweepProcess.Fmnist(Args("--worker"));
        using var task2 = SweepProcess.Fmnist(Args("--trial-index"), new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "2" });
        using var task3 = SweepProcess.Fmnist(Args("--trial-index", "3"));
        var runs = new[] { w1, w2, task2, task3 }.Select(p => p.Wait(TimeSpan.FromMinutes(8))).ToList();
        foreach (var r in runs) Assert.True(r.Code == 0, r.Err);
        var reports = runs.Select(r => SweepProcess.Json(r.Out)).ToList();
        Assert.All(reports.Take(2), w => Assert.True(w.GetProperty("complete").GetBoolean())); // workers stay until the end

        var ran = reports.SelectMany(r => r.GetProperty("jobs").EnumerateArray())
            .Where(j => j.GetProperty("outcome").GetString() == "done")
            .Select(j => (Trial: j.GetProperty("trial").GetInt32(), Stage: j.GetProperty("stage").GetInt32())).ToList();
        Assert.Equal(6, ran.Count);                 // 4 first stages, 2 promoted second stages
        Assert.Equal(6, ran.Distinct().Count());    // none twice
        Assert.All(reports[2].GetProperty("jobs").EnumerateArray(), j => Assert.Equal(2, j.GetProperty("trial").GetInt32()));
        Assert.All(reports[3].GetProperty("jobs").EnumerateArray(), j => Assert.Equal(3, j.GetProperty("trial").GetInt32()));
        // The folder agrees: each job has exactly one claim that ended "done", none failed.
        var claims = Directory.GetFiles(Path.Combine(shared, "claims"), "*.json")
            .Select(f => (Job: Path.GetFileName(f)[..Path.GetFileName(f).LastIndexOf('.', Path.GetFileName(f).Length - 6)], Info: JsonFiles.Read<ClaimInfo>(f))).ToList();
        Assert.Equal(6, claims.Where(c => c.Info.Outcome == "done").Select(c => c.Job).Distinct().Count());
        Assert.Equal(6, claims.Count(c => c.Info.Outcome == "done"));
        Assert.DoesNotContain(claims, c => c.Info.Outcome is null or "failed");

        var collected = SweepProcess.Run(["sweep", "--out", shared, "--collect", "--json"]);
        Assert.True(collected.Code == 0, collected.Err);
        var single = SweepProcess.Run(["sweep", "--grid", grid, "--out", Path.Combine(root, "single"), "--test-limit", "200", "--json"]);
        Assert.True(single.Code == 0, single.Err);
        Assert.Equal(Table(single.Out), Table(collected.Out));
        var outcomes = SweepProcess.Json(collected.Out).GetProperty("trials").EnumerateArray().Select(t => t.GetProperty("outcome").GetString()).ToList();
        Assert.Equal(2, outcomes.Count(o => o == "finished"));
        Assert.Equal(2, outcomes.Count(o => o == "stopped"));
        Assert.True(File.Exists(Path.Combine(shared, "best_model", "model.pt")));
    }

    [Fact]
    public void A_killed_workers_trial_is_taken_over_at_once_and_resumed_after_its_last_saved_epoch()
    {
        var root = TestData.TempDir();
        var grid = WriteGrid(root, """{"base":{"train_limit":600,"epochs":3,"batch_size":32,"lstm":16,"dense":8},"trials":[{}]}""");
        var dir = Path.Combine(root, "sweep");
        // A stale limit far beyond the test's time: the dead worker is noticed by its process id, not by waiting.
        string[] args = ["sweep", "--grid", grid, "--out", dir, "--worker", "--stale-after", "3600", "--test-limit", "200", "--json"];
        int savedEpoch;
        using (var doomed = SweepProcess.Fmnist(args))
        {
            var state = Path.Combine(dir, "trials", "b32-d0.4-0.5-lstm16-dense8", "checkpoint.json");
            var deadline = DateTime.UtcNow.AddMinutes(4);
            while (!File.Exists(state) && DateTime.UtcNow < deadline) Thread.Sleep(20);
            doomed.Kill();
            Assert.True(File.Exists(state), "the first worker never finished an epoch");
            savedEpoch = JsonFiles.Read<Training.CheckpointState>(state).Epoch;
        }
        Assert.InRange(savedEpoch, 1, 2);
        var (code, stdout, stderr) = SweepProcess.Run(args);
        Assert.True(code == 0, stderr);
        Assert.Contains($"resuming after epoch {savedEpoch} of 3", stderr);
        var job = Assert.Single(SweepProcess.Json(stdout).GetProperty("jobs").EnumerateArray());
        Assert.Equal("done", job.GetProperty("outcome").GetString());
        var claims = Directory.GetFiles(Path.Combine(dir, "claims")).Order().Select(JsonFiles.Read<ClaimInfo>).ToList();
        Assert.Equal(2, claims.Count);            // generation 1, the dead worker's, left open; generation 2 took over
        Assert.Null(claims[0].Outcome);
        Assert.Equal("done", claims[1].Outcome);
        Assert.NotEqual(claims[0].Pid, claims[1].Pid);
        var result = JsonFiles.Read<Experiments.RunResult>(Path.Combine(dir, "trials", "b32-d0.4-0.5-lstm16-dense8", "result.json"));
        Assert.Equal([1, 2, 3], result.History.Select(h => h.Epoch));
        Assert.True(SweepProcess.Run(["sweep", "--out", dir, "--collect"]).Code == 0);
    }
}
