using System.Runtime.InteropServices;

namespace Fmnist.Tests;

/// <summary>
/// A [Fact] that needs root on Debian (it starts a one-node Slurm cluster with Debian's packages). It is
/// skipped elsewhere, saying why, but never in CI (CI=true): there it must run, and fails if it cannot.
/// </summary>
public sealed partial class SlurmFactAttribute : FactAttribute
{
    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();

    public SlurmFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("CI") == "true") return;
        if (!File.Exists("/etc/debian_version")) Skip = "Slurm test skipped: not Debian (scripts/slurm/local-cluster.sh installs Debian's slurm-wlm and munge)";
        else if (!OperatingSystem.IsLinux() || GetEuid() != 0) Skip = "Slurm test skipped: not root (the local cluster's daemons and packages need root)";
    }
}

/// <summary>A small search submitted to a real Slurm cluster on this machine, as an sbatch job array.</summary>
[Trait("Category", "Slow")]
public class SlurmTests
{
    private static readonly string Scripts = Path.Combine(TestData.RepoRoot, "scripts", "slurm");

    /// <summary>Six sampled tiny trials of one epoch, no halving: one per array task.</summary>
    private const string Search = """
        {"base":{"train_limit":300,"epochs":1,"batch_size":32,"dense":8},
         "space":{"lstm":{"choice":[8,16,32]},"learning_rate":{"log_uniform":[0.001,0.01]}},"samples":6}
        """;

    [SlurmFact]
    public void A_six_trial_search_as_a_slurm_job_array_gives_the_table_of_one_process()
    {
        var root = TestData.TempDir();
        var state = Path.Combine(root, "slurm");
        var grid = SweepWorkerTests.WriteGrid(root, Search);
        var shared = Path.Combine(root, "shared");
        Must(Bash(Path.Combine(Scripts, "local-cluster.sh"), "start", state), "starting the cluster");
        try
        {
            var env = new Dictionary<string, string> { ["SLURM_CONF"] = Path.Combine(state, "slurm.conf"), ["FMNIST"] = $"dotnet {SweepProcess.Dll}" };
            // Two tasks at a time (%2), one CPU each; --wait returns when every task has ended, non-zero if one failed.
            using (var sbatch = SweepProcess.Start("sbatch", ["--wait", "--array=0-5%2", "-c", "1", "-D", root, "-o", Path.Combine(root, "task-%a.out"),
                       Path.Combine(Scripts, "sweep-array.sbatch"), "--grid", grid, "--out", shared, "--test-limit", "200"], env))
            {
                var r = sbatch.Wait(TimeSpan.FromMinutes(15));
                Assert.True(r.Code == 0, $"sbatch: {r.Err}\n{TaskLogs(root)}");
            }
            for (int i = 0; i < 6; i++) // array task i ran trial i ($SLURM_ARRAY_TASK_ID)
                Assert.Matches($@"(?m)^trial {i} \S+: epochs 1-1 done", File.ReadAllText(Path.Combine(root, $"task-{i}.out")));

            var collected = SweepProcess.Run(["sweep", "--out", shared, "--collect", "--json"]);
            Assert.True(collected.Code == 0, collected.Err);
            var single = SweepProcess.Run(["sweep", "--grid", grid, "--out", Path.Combine(root, "single"), "--test-limit", "200", "--json"]);
            Assert.True(single.Code == 0, single.Err);
            Assert.Equal(6, SweepWorkerTests.Table(single.Out).Count);
            Assert.Equal(SweepWorkerTests.Table(single.Out), SweepWorkerTests.Table(collected.Out));
        }
        finally
        {
            Bash(Path.Combine(Scripts, "local-cluster.sh"), "stop", state);
        }
    }

    private static (int Code, string Out, string Err) Bash(params string[] args)
    {
        using var p = SweepProcess.Start("bash", args);
        return p.Wait(TimeSpan.FromMinutes(10));
    }

    private static void Must((int Code, string Out, string Err) r, string what) => Assert.True(r.Code == 0, $"{what}: {r.Err}");

    private static string TaskLogs(string root) =>
        string.Join("\n", Directory.GetFiles(root, "task-*.out").Order().Select(f => $"{Path.GetFileName(f)}: {File.ReadAllText(f)}"));
}

/// <summary>A [Fact] skipped, saying why, where Debian's python3-yaml (the manifest's reader) is missing.</summary>
public sealed class YamlFactAttribute : FactAttribute
{
    public static readonly Lazy<bool> Available = new(() => File.Exists("/usr/bin/python3")
        && ExportSupport.RunProcess("/usr/bin/python3", "-c", "import yaml").Code == 0);

    public YamlFactAttribute()
    {
        if (!Available.Value) Skip = "Kubernetes manifest check skipped: /usr/bin/python3 with yaml missing (apt-get install python3-yaml)";
    }
}

/// <summary>The Kubernetes manifest (no cluster here to run it on): it must name a real search and run one trial per index.</summary>
public class KubernetesManifestTests
{
    [YamlFact]
    public void The_indexed_job_runs_one_trial_per_index_of_a_real_search_into_its_shared_volume()
    {
        var manifest = Path.Combine(TestData.RepoRoot, "scripts", "kubernetes", "sweep-indexed-job.yaml");
        var (code, json, err) = ExportSupport.RunProcess("/usr/bin/python3", "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", manifest);
        Assert.True(code == 0, err);
        var job = SweepProcess.Json(json);
        Assert.Equal("Job", job.GetProperty("kind").GetString());
        var spec = job.GetProperty("spec");
        Assert.Equal("Indexed", spec.GetProperty("completionMode").GetString());
        var container = spec.GetProperty("template").GetProperty("spec").GetProperty("containers")[0];
        var command = container.GetProperty("command").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(["./fmnist", "sweep"], command.Take(2));
        Assert.Equal("--trial-index", command[^1]); // the index comes from $JOB_COMPLETION_INDEX
        var grid = Experiments.SweepGrid.Load(Path.Combine(TestData.RepoRoot, command[command.IndexOf("--grid") + 1]));
        Assert.Null(grid.Halving); // halving searches run as workers (see the manifest's comment)
        Assert.Equal(grid.AllTrials().Count, spec.GetProperty("completions").GetInt32());
        var mount = container.GetProperty("volumeMounts")[0].GetProperty("mountPath").GetString()!;
        Assert.StartsWith(mount + "/", command[command.IndexOf("--out") + 1]);
        Assert.StartsWith(mount + "/", container.GetProperty("workingDir").GetString());
    }
}
