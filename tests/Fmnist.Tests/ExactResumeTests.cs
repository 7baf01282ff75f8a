using Fmnist.Experiments;
using Fmnist.Training;

namespace Fmnist.Tests;

/// <summary>A short training run, finished without interruption: what every interrupted twin must equal.</summary>
public sealed class UninterruptedRun
{
    public UninterruptedRun()
    {
        DataDir = CliProcess.SmallDataset(train: 600, test: 300);
        Directory = Path.Combine(TestData.TempDir(), "twin");
        var (code, _, err) = CliProcess.Run(Args(Directory));
        Assert.True(code == 0, err);
    }

    public string DataDir { get; }
    public string Directory { get; }

    /// <summary>Dropout (libtorch's generator), online augmentation and shuffling (reseeded per epoch), Adam's
    /// moments and the cosine schedule all carry state from one epoch to the next.</summary>
    public string[] Args(string outDir, params string[] more) =>
    [
        "train", "--data-dir", DataDir, "--out", outDir, "--epochs", "3", "--batch-size", "50", "--lstm", "32", "--dense", "32",
        "--augment", "online", "--seed", "7", .. more,
    ];
}

/// <summary>
/// A run killed at any moment and resumed must be the run that was never killed: the same history, the same
/// weights to the byte, the same test score. Real child processes killed with SIGKILL, as a crash would.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ExactResumeTests(UninterruptedRun twin) : IClassFixture<UninterruptedRun>
{
    [Fact]
    public void Killed_mid_epoch_2_and_resumed_equals_the_uninterrupted_run()
    {
        var dir = Path.Combine(TestData.TempDir(), "killed");
        KillDuringEpoch2(dir);

        var (code, output, err) = CliProcess.Run(twin.Args(dir, "--resume"));
        Assert.True(code == 0, err);
        Assert.Contains("resuming after epoch 1 of 3", output);
        AssertSameRun(twin.Directory, dir);
    }

    [Fact]
    public void A_checkpoint_the_disk_refuses_ends_in_one_line_keeps_the_previous_one_and_resume_continues()
    {
        var dir = Path.Combine(TestData.TempDir(), "full");
        KillDuringEpoch2(dir);
        var folder = new RunFolder(dir);
        string[] kept = [folder.StatePath, folder.CheckpointPath, folder.OptimizerPath, folder.ModelPath];
        var before = kept.Select(File.ReadAllBytes).ToList();

        // 200 KB: every weights file (~540 KB) is refused, the small files are not.
        using (var limited = CliProcess.StartWithFileSizeLimit(200, twin.Args(dir, "--resume")))
        {
            var (code, _, err) = limited.Wait();
            Assert.Equal(1, code);
            var line = Assert.Single(err.Split('\n'), l => l.StartsWith("fmnist:"));
            Assert.Matches($@"^fmnist: {folder.Directory}/(model|checkpoint)\.pt: cannot write \(file too large.*\); the folder keeps epoch 1's checkpoint", line);
            Assert.DoesNotContain("   at ", err); // no stack trace
        }
        Assert.Equal(before, kept.Select(File.ReadAllBytes).ToList());
        Assert.False(Directory.Exists(folder.PendingDirectory));

        var (resumed, _, resumeErr) = CliProcess.Run(twin.Args(dir, "--resume"));
        Assert.True(resumed == 0, resumeErr);
        AssertSameRun(twin.Directory, dir);
    }

    /// <summary>Starts the run and kills it inside epoch 2, after epoch 1's checkpoint. Epoch 1 carries the
    /// start-up cost and parallel tests share the cores, so a kill timed from it can land after epoch 2 has
    /// finished: then the attempt starts over in an empty folder (up to 5 times, each waiting less).</summary>
    private void KillDuringEpoch2(string dir)
    {
        var state = Path.Combine(dir, "checkpoint.json");
        for (int attempt = 0; ; attempt++)
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            using var run = CliProcess.Start(twin.Args(dir));
            CheckpointState? saved = null;
            Assert.True(run.WaitUntil(() => (saved = TryRead(state)) is { Epoch: >= 1 }), run.Printed);
            Thread.Sleep(TimeSpan.FromSeconds(saved!.History[0].Seconds / (2 << attempt)));
            run.Kill();
            int epoch = TryRead(state)?.Epoch ?? 0;
            if (epoch == 1) return; // it died inside epoch 2
            Assert.True(attempt < 4, $"5 kills all landed after epoch 2's checkpoint (last saw epoch {epoch})");
        }
    }

    private static CheckpointState? TryRead(string path)
    {
        try
        {
            return File.Exists(path) ? JsonFiles.Read<CheckpointState>(path) : null;
        }
        catch (Exception e) when (e is IOException or FmnistException)
        {
            return null;
        }
    }

    internal static void AssertSameRun(string expected, string actual)
    {
        // Wall-clock fields differ between any two runs; every number the training computed must not.
        static List<EpochRecord> History(string dir) => JsonFiles.Read<List<EpochRecord>>(new RunFolder(dir).HistoryJsonPath)
            .Select(h => h with { Seconds = 0, ImagesPerSecond = 0, RssMb = 0 }).ToList();
        Assert.Equal(History(expected), History(actual));
        foreach (var file in new[] { "model.pt", "checkpoint.pt", "optimizer.pt" })
            Assert.True(File.ReadAllBytes(Path.Combine(expected, file)).SequenceEqual(File.ReadAllBytes(Path.Combine(actual, file))), $"{file} differs");
        var (a, b) = (JsonFiles.Read<RunResult>(new RunFolder(expected).ResultPath), JsonFiles.Read<RunResult>(new RunFolder(actual).ResultPath));
        Assert.Equal((a.BestEpoch, a.ValAccuracy, a.TestAccuracy), (b.BestEpoch, b.ValAccuracy, b.TestAccuracy));
    }
}

/// <summary>The epoch commit's recovery, for kills in the narrow window between staging and renaming.</summary>
public sealed class CheckpointCommitTests
{
    [Fact]
    public void A_staging_without_its_mark_is_discarded_and_a_commit_cut_short_is_finished()
    {
        var folder = new RunFolder(TestData.TempDir());
        string Pending(string name) => Path.Combine(folder.PendingDirectory, name);
        File.WriteAllText(folder.CheckpointPath, "weights 1");
        File.WriteAllText(folder.OptimizerPath, "optimizer 1");
        File.WriteAllText(folder.StatePath, "state 1");

        // Killed while staging epoch 2: its files are dropped, epoch 1 stays.
        Directory.CreateDirectory(folder.PendingDirectory);
        File.WriteAllText(Pending("checkpoint.pt"), "weights 2");
        File.WriteAllText(Pending(".optimizer.pt.123.1.tmp"), "optimizer 2, half written");
        Checkpoint.Recover(folder);
        Assert.False(Directory.Exists(folder.PendingDirectory));
        Assert.Equal(["weights 1", "optimizer 1", "state 1"], new[] { folder.CheckpointPath, folder.OptimizerPath, folder.StatePath }.Select(File.ReadAllText));

        // Killed after the mark, with checkpoint.pt already moved: the rest follows, the mark last.
        Directory.CreateDirectory(folder.PendingDirectory);
        File.WriteAllText(folder.CheckpointPath, "weights 2");
        File.WriteAllText(Pending("optimizer.pt"), "optimizer 2");
        File.WriteAllText(Pending(".history.json.123.1.tmp"), "a temporary file is never part of the epoch");
        File.WriteAllText(Pending("checkpoint.json"), "state 2");
        Checkpoint.Recover(folder);
        Assert.False(Directory.Exists(folder.PendingDirectory));
        Assert.Equal(["weights 2", "optimizer 2", "state 2"], new[] { folder.CheckpointPath, folder.OptimizerPath, folder.StatePath }.Select(File.ReadAllText));
        Assert.False(File.Exists(Path.Combine(folder.Directory, ".history.json.123.1.tmp")));
    }
}
