using System.Diagnostics;
using Fmnist.Experiments;
using Fmnist.Experiments.Search;
using Fmnist.Training;

namespace Fmnist.Tests;

/// <summary>Search files, the sampler, successive halving's promotions, and claim files (no training).</summary>
public class SearchTests
{
    private static string WriteFile(string json)
    {
        var path = Path.Combine(TestData.TempDir(), "search.json");
        File.WriteAllText(path, json);
        return path;
    }

    private const string Space = """
        {"space":{"learning_rate":{"log_uniform":[0.0001,0.01]},"lstm":{"int":[16,64]},"dropout1":{"uniform":[0.2,0.6]},
                  "schedule":{"choice":["cosine","constant"]},"dense":{"log_int":[8,512]}},"samples":6}
        """;

    [Fact]
    public void The_same_file_and_seed_give_the_same_trials_and_a_longer_search_starts_with_a_shorter_one()
    {
        var grid = SweepGrid.Load(WriteFile(Space));
        var six = grid.AllTrials();
        Assert.Equal(6, six.Count);
        Assert.Equal(six.Select(SearchSpace.Key), SweepGrid.Load(WriteFile(Space)).AllTrials().Select(SearchSpace.Key));
        Assert.Equal(six.Select(SearchSpace.Key), grid.AllTrials(12).Take(6).Select(SearchSpace.Key));
        Assert.NotEqual(six.Select(SearchSpace.Key), grid.AllTrials(samplerSeed: 2).Select(SearchSpace.Key));
        foreach (var t in grid.AllTrials(50))
        {
            Assert.InRange(t.Value<double?>("learning_rate")!.Value, 1e-4, 1e-2);
            Assert.Equal(t.Value<double?>("learning_rate")!.Value, double.Parse(t.Value<double?>("learning_rate")!.Value.ToString("G3")));  // 3 significant digits
            Assert.InRange(t.Value<int?>("lstm")!.Value, 16, 64);
            Assert.InRange(t.Value<double?>("dropout1")!.Value, 0.2, 0.6);
            Assert.InRange(t.Value<int?>("dense")!.Value, 8, 512);
            Assert.Contains(t.Value<LrSchedule?>("schedule")!.Value, new[] { LrSchedule.Cosine, LrSchedule.Constant });
        }
    }

    [Fact]
    public void Log_uniform_draws_spread_evenly_over_the_orders_of_magnitude()
    {
        var grid = SweepGrid.Load(WriteFile("""{"space":{"learning_rate":{"log_uniform":[0.0001,0.01]},"lstm":{"int":[1,1000000]}}}"""));
        var lr = grid.AllTrials(2000).Select(t => t.Value<double?>("learning_rate")!.Value).ToList();
        // Half below the geometric middle 1e-3 (a plain uniform draw would put 9% there).
        Assert.InRange(lr.Count(v => v < 1e-3) / 2000.0, 0.45, 0.55);
        Assert.InRange(lr.Count(v => v < Math.Pow(10, -3.5)) / 2000.0, 0.20, 0.30);
    }

    [Fact]
    public void Listed_trials_come_first_and_samples_never_repeat_them()
    {
        var grid = SweepGrid.Load(WriteFile("""{"trials":[{"lstm":16},{"lstm":32}],"space":{"lstm":{"choice":[16,32,64,128]}}}"""));
        var trials = grid.AllTrials(2);
        Assert.Equal(new[] { 16, 32, 64, 128 }, trials.Take(2).Select(t => t.Value<int?>("lstm")!.Value).Concat(trials.Skip(2).Select(t => t.Value<int?>("lstm")!.Value).Order()));
        var e = Assert.Throws<FmnistException>(() => grid.AllTrials(3));
        Assert.Contains("fewer than 3 distinct trials", e.Message);
    }

    [Theory]
    [InlineData("""{"space":{"lstm":{"normal":[1,2]}},"samples":2}""", "space 'lstm': unknown distribution 'normal'")]
    [InlineData("""{"space":{"lstm":{"int":[64,16]}},"samples":2}""", "space 'lstm': int needs low < high")]
    [InlineData("""{"space":{"lstm":{"int":[16.5,64]}},"samples":2}""", "space 'lstm': int takes whole numbers")]
    [InlineData("""{"space":{"lstm":{"uniform":[16,64]}},"samples":2}""", "space 'lstm': lstm takes whole numbers; use int or log_int")]
    [InlineData("""{"space":{"learning_rate":{"log_uniform":[0,0.1]}},"samples":2}""", "needs a positive low bound")]
    [InlineData("""{"space":{"lstm":{"choice":[16,"big"]}},"samples":2}""", "setting 'lstm': \"big\" is not a valid value")]
    [InlineData("""{"space":{"colour":{"choice":[1,2]}},"samples":2}""", "unknown setting 'colour'")]
    [InlineData("""{"space":{"lstm":[16,32]},"samples":2}""", "space 'lstm': give one of uniform")]
    [InlineData("""{"space":{},"samples":2}""", "the space names no setting")]
    [InlineData("""{"trials":[{}],"samples":2}""", "\"samples\" needs a \"space\"")]
    [InlineData("""{"trials":[{}],"halving":{"rungs":[3,1]}}""", "halving rungs must be increasing positive epochs")]
    [InlineData("""{"trials":[{}],"halving":{"rungs":[1],"eta":1}}""", "halving eta must be at least 2")]
    [InlineData("""{"trials":[{}],"halving":{"rungs":[1],"keep":2}}""", "invalid grid")]
    public void Bad_search_files_get_their_own_error(string json, string expected)
    {
        var path = WriteFile(json);
        var e = Assert.Throws<FmnistException>(() => SweepGrid.Load(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_space_without_a_count_and_rungs_past_the_epochs_are_refused_when_the_search_is_made()
    {
        var grid = SweepGrid.Load(WriteFile("""{"space":{"lstm":{"choice":[16,32]}},"halving":{"rungs":[2]}}"""));
        Assert.Contains("\"samples\" in the file, or --trials", Assert.Throws<FmnistException>(() => grid.AllTrials()).Message);
        var trials = grid.AllTrials(2);
        var e = Assert.Throws<FmnistException>(() => SearchPlan.Create(trials, new TrainConfig { Epochs = 2 }, grid.Halving));
        Assert.Contains("halving rungs must come before the last epoch (2)", e.Message);
        e = Assert.Throws<FmnistException>(() => SearchPlan.Create([new ConfigOverrides(), ConfigOverrides.Of(("epochs", 5))], new TrainConfig(), grid.Halving));
        Assert.Contains("all trials need the same epochs", e.Message);
        Assert.Equal(2, SearchPlan.Create(trials, new TrainConfig { Epochs = 3 }, grid.Halving).Stages);
    }

    [Fact]
    public void Halving_keeps_the_best_third_ties_to_the_earlier_trial_and_never_a_diverged_one()
    {
        var h = new Halving { Rungs = [1], Eta = 3 };
        Assert.Equal([1, 2], h.Promote([(0, 0.5), (1, 0.7), (2, 0.9), (3, 0.6), (4, 0.7), (5, null), (6, 0.7)]));
        Assert.Equal([0], h.Promote([(0, 0.5), (1, 0.5)]));            // at least one goes on
        Assert.Equal([1], h.Promote([(0, null), (1, 0.1), (2, null)]));
        Assert.Empty(h.Promote([(0, null)]));
    }

    [Fact]
    public void A_search_file_is_published_once_and_a_different_search_is_refused()
    {
        var dir = TestData.TempDir();
        var plan = SearchPlan.Create([ConfigOverrides.Of(("lstm", 16)), ConfigOverrides.Of(("lstm", 32))], new TrainConfig { Epochs = 2 });
        Parallel.For(0, 8, _ => plan.Publish(dir)); // several workers starting at once
        Assert.Equal(plan.ToJson(), SearchPlan.Read(dir)!.ToJson());
        Assert.Equal(["search.json"], Directory.GetFiles(dir).Select(Path.GetFileName));
        var other = SearchPlan.Create([ConfigOverrides.Of(("lstm", 16))], new TrainConfig { Epochs = 2 });
        var e = Assert.Throws<FmnistException>(() => other.Publish(dir));
        Assert.Contains("search.json: the folder holds another search (2 trials", e.Message);
    }

    [Fact]
    public void Of_workers_claiming_one_job_at_once_exactly_one_gets_it()
    {
        var dir = TestData.TempDir();
        var claims = new Claim?[16];
        Parallel.For(0, claims.Length, i => claims[i] = new ClaimStore(dir, TimeSpan.FromMinutes(1)).TryClaim("trial.s0"));
        Assert.Single(claims, c => c is not null);
        var store = new ClaimStore(dir, TimeSpan.FromMinutes(1));
        Assert.Null(store.TryClaim("trial.s0")); // held by a live process (this one)
        using (var other = store.TryClaim("trial.s1")) Assert.NotNull(other);
        claims.Single(c => c is not null)!.End("done");
        Assert.Equal("done", store.Outcome("trial.s0"));
        Assert.Null(store.TryClaim("trial.s0")); // an ended claim is not taken again
    }

    [Fact]
    public void A_claim_of_a_dead_process_on_this_machine_is_stale_at_once()
    {
        var dir = TestData.TempDir();
        using var sleeper = Process.Start("sleep", "60");
        var start = ClaimStore.ProcessStartTicks(sleeper.Id)!.Value;
        WriteClaim(dir, "t.s0", 1, new ClaimInfo("w", Environment.MachineName, sleeper.Id, start, DateTimeOffset.UtcNow));
        var store = new ClaimStore(dir, TimeSpan.FromHours(1));
        Assert.Null(store.TryClaim("t.s0"));
        sleeper.Kill();
        sleeper.WaitForExit();
        using var claim = store.TryClaim("t.s0");
        Assert.NotNull(claim);
        Assert.EndsWith("t.s0.2.json", claim.Path);
        // A recycled process id is not mistaken for the claimer: this process is alive, but started at another time.
        WriteClaim(dir, "u.s0", 1, new ClaimInfo("w", Environment.MachineName, Environment.ProcessId, 12345, DateTimeOffset.UtcNow));
        using var recycled = store.TryClaim("u.s0");
        Assert.NotNull(recycled);
    }

    [Fact]
    public void A_claim_from_another_machine_is_stale_only_after_its_heartbeat_stops_for_the_limit()
    {
        var dir = TestData.TempDir();
        var path = WriteClaim(dir, "t.s0", 1, new ClaimInfo("w", "another-machine", 4242, 1, DateTimeOffset.UtcNow));
        var store = new ClaimStore(dir, TimeSpan.FromSeconds(1.5));
        // Its worker beats every 0.3 s for ten beats: the claim is never free meanwhile, however slow the machine.
        for (int beat = 0; beat < 10; beat++)
        {
            Assert.Null(store.TryClaim("t.s0"));
            Thread.Sleep(300);
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(beat + 1)); // a new mtime every beat, even on a coarse clock
        }
        // It stops beating: the claim frees once the store has seen the same mtime for longer than the limit,
        // by its own monotonic clock (a gate: never earlier, and a 60 s ceiling only so a regression ends).
        var sinceLastBeat = Stopwatch.StartNew();
        Assert.Null(store.TryClaim("t.s0"));
        Claim? taken = null;
        while (taken is null && sinceLastBeat.Elapsed < TimeSpan.FromSeconds(60))
        {
            Thread.Sleep(100);
            taken = store.TryClaim("t.s0");
        }
        Assert.NotNull(taken);
        Assert.True(sinceLastBeat.Elapsed >= store.StaleAfter, $"freed {sinceLastBeat.Elapsed.TotalSeconds:F2} s after the last beat, before the {store.StaleAfter.TotalSeconds} s limit");
        taken.Dispose();
    }

    [Fact]
    public void A_worker_whose_job_was_taken_over_notices_it()
    {
        var dir = TestData.TempDir();
        using var claim = new ClaimStore(dir, TimeSpan.FromSeconds(1)).TryClaim("t.s0")!;
        var beat = File.GetLastWriteTimeUtc(claim.Path);
        // It heartbeats every fifth of the 1 s lifetime. The waits are gates with a 60 s ceiling only so a
        // regression ends: the beat runs on the thread pool, which the suite beside it can starve for
        // seconds (a 5 s ceiling failed once in CI).
        var ceiling = TimeSpan.FromSeconds(60);
        var waited = Stopwatch.StartNew();
        while (File.GetLastWriteTimeUtc(claim.Path) == beat && waited.Elapsed < ceiling) Thread.Sleep(50);
        Assert.NotEqual(beat, File.GetLastWriteTimeUtc(claim.Path));
        Assert.False(claim.Lost);
        WriteClaim(dir, "t.s0", 2, new ClaimInfo("w", "another-machine", 1, 1, DateTimeOffset.UtcNow));
        var watch = Stopwatch.StartNew();
        while (!claim.Lost && watch.Elapsed < ceiling) Thread.Sleep(50);
        Assert.True(claim.Lost);
        claim.End("done");
        Assert.Null(new ClaimStore(dir, TimeSpan.FromSeconds(1)).Claims("t.s0")[0].Info!.Outcome); // a lost claim records nothing
    }

    [Theory]
    [InlineData("--worker --collect", "--trial-index, --worker and --collect are different ways to run a sweep: give one of them")]
    [InlineData("--worker", "--grid is required: OUT holds no search yet (no search.json)")]
    [InlineData("--collect --trials 4", "--trials needs --grid (without it, the search in OUT/search.json is run as it is)")]
    [InlineData("--worker --stale-after 0", "--stale-after must be a positive number of seconds, got 0")]
    [InlineData("--grid GRID --trial-index 9", "trial index 9 is outside the search's trials 0..3")]
    [InlineData("--grid GRID --trials 3 --collect", "GRID: the number of trials to sample needs a \"space\" in the sweep file")]
    [InlineData("--grid GRID --epochs 1 --collect", "GRID: halving rungs must come before the last epoch (1), got [1]")]
    public void Sweep_options_that_do_not_go_together_get_a_one_line_error(string args, string expected)
    {
        var dir = TestData.TempDir();
        var grid = WriteFile("""{"axes":{"lstm":[8,16],"dense":[8,16]},"base":{"epochs":2},"halving":{"rungs":[1]}}""");
        var outDir = Path.Combine(dir, "out");
        var (code, stdout, stderr) = InProcessCli.Run(["sweep", "--out", outDir, .. args.Replace("GRID", grid).Split(' ')]);
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal($"fmnist: {expected.Replace("GRID", grid).Replace("OUT", outDir)}", stderr.Trim());
    }

    [Fact]
    public void A_trial_index_without_a_number_comes_from_the_array_task_and_collect_waits_for_a_complete_search()
    {
        var dir = TestData.TempDir();
        var grid = WriteFile("""{"axes":{"lstm":[8,16]}}""");
        var outDir = Path.Combine(dir, "out");
        using var task = SweepProcess.Fmnist(["sweep", "--grid", grid, "--out", outDir, "--trial-index"], new Dictionary<string, string> { ["SLURM_ARRAY_TASK_ID"] = "7" });
        var r = task.Wait(TimeSpan.FromMinutes(2));
        Assert.Equal(1, r.Code);
        Assert.Equal("fmnist: trial index 7 is outside the search's trials 0..1", r.Err.Trim());
        var (code, _, stderr) = InProcessCli.Run(["sweep", "--out", outDir, "--collect"]); // search.json was published; no trial ran
        Assert.Equal(1, code);
        Assert.Contains("the search is not complete: 2 of 2 trials unfinished (0 b256-d0.4-0.5-lstm8-dense128, 1 b256-d0.4-0.5-lstm16-dense128)", stderr);
    }

    private static string WriteClaim(string dir, string job, int generation, ClaimInfo info)
    {
        var path = Path.Combine(dir, "claims", $"{job}.{generation}.json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        JsonFiles.Write(path, info);
        return path;
    }
}
