using static Fmnist.Tests.InProcessCli;

namespace Fmnist.Tests;

/// <summary>One writer per output folder: the lock itself, and train, sweep and reproduce behind it.</summary>
public sealed class FolderLockTests
{
    private static readonly string Me = $"pid {Environment.ProcessId} on {Environment.MachineName}, since ";

    [Fact]
    public void A_held_folder_is_refused_naming_the_holder_and_is_free_again_once_released()
    {
        var dir = TestData.TempDir();
        using (var first = FolderLock.Acquire(dir))
        {
            Assert.Null(first.TookOverFrom);
            var e = Assert.Throws<FolderInUseException>(() => FolderLock.Acquire(dir));
            Assert.StartsWith($"{dir}: in use by another fmnist ({Me}", e.Message);
            Assert.Equal(Environment.ProcessId, e.Holder!.Pid);
        }
        using var again = FolderLock.Acquire(dir);
        Assert.Null(again.TookOverFrom); // released cleanly: nothing to take over
    }

    [Fact]
    public void A_lock_file_left_by_a_dead_process_is_taken_over()
    {
        var dir = TestData.TempDir();
        File.WriteAllText(Path.Combine(dir, FolderLock.FileName),
            """{ "pid": 4194301, "host": "elsewhere", "since": "2026-01-02T03:04:05+00:00", "command": "fmnist train" }""");
        using var taken = FolderLock.Acquire(dir);
        Assert.Equal((4194301, "elsewhere"), (taken.TookOverFrom!.Pid, taken.TookOverFrom.Host));
        Assert.Contains($"\"pid\": {Environment.ProcessId}", Posix.ReadUnlocked(Path.Combine(dir, FolderLock.FileName)));
    }

    [Fact]
    public void A_file_in_place_of_the_folder_is_refused()
    {
        var file = Path.Combine(TestData.TempDir(), "run");
        File.WriteAllText(file, "");
        Assert.Equal($"{file}: is a file, not a folder", Assert.Throws<FmnistException>(() => FolderLock.Acquire(file)).Message);
    }

    [Fact]
    public void Sweep_and_reproduce_refuse_a_folder_another_writer_holds()
    {
        var data = CliProcess.SmallDataset(train: 200, test: 50);
        var grid = Path.Combine(TestData.TempDir(), "grid.json");
        File.WriteAllText(grid, """{ "trials": [ { "lstm": 16, "dense": 16 } ] }""");
        var dir = TestData.TempDir();
        using var held = FolderLock.Acquire(dir);

        var (code, output, err) = Run("sweep", "--grid", grid, "--out", dir, "--epochs", "1", "--data-dir", data);
        Assert.Equal((1, ""), (code, output));
        Assert.StartsWith($"fmnist: {dir}: in use by another fmnist ({Me}", err);
        (code, _, err) = Run("reproduce", "--quick", "--out", dir, "--data-dir", data);
        Assert.Equal(1, code);
        Assert.StartsWith($"fmnist: {dir}: in use by another fmnist ({Me}", err);
        // Nothing trained or reported: at most the sweep's own search plan, written before it asks for the folder.
        Assert.Equal([FolderLock.FileName], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).Where(n => n != "search.json"));
    }

    /// <summary>
    /// Two real processes: the second `train` into a folder a running one writes is refused with one line naming
    /// the holder, and leaves the folder alone; after the holder is SIGKILLed, its lock is taken over.
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void A_second_train_process_is_refused_and_takes_over_once_the_first_is_killed()
    {
        var data = CliProcess.SmallDataset(train: 600, test: 100);
        var dir = Path.Combine(TestData.TempDir(), "run");
        string[] Args(string lstm, params string[] more) =>
            ["train", "--data-dir", data, "--out", dir, "--epochs", "50", "--batch-size", "50", "--lstm", lstm, "--dense", "32", "--augment", "none", .. more];
        var lockFile = Path.Combine(dir, FolderLock.FileName);
        using var holder = CliProcess.Start(Args("32"));
        Assert.True(holder.WaitUntil(() => File.Exists(Path.Combine(dir, "config.json"))), holder.Printed);

        var (code, output, err) = CliProcess.Run(Args("64", "--json"));
        Assert.Equal(1, code);
        using (var error = System.Text.Json.JsonDocument.Parse(output)) // under --json the refusal is a JSON error object too
            Assert.Equal("fmnist.error/1", error.RootElement.GetProperty("schema").GetString());
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("fmnist:"));
        Assert.StartsWith($"fmnist: {dir}: in use by another fmnist (pid {holder.Pid} on {Environment.MachineName}, since ", line);
        Assert.Contains("\"lstm\": 32", File.ReadAllText(Path.Combine(dir, "config.json"))); // the holder's settings, not mixed

        holder.Kill();
        Assert.Contains($"\"pid\": {holder.Pid}", Posix.ReadUnlocked(lockFile)); // SIGKILL left its text behind
        using var successor = CliProcess.Start(Args("32", "--resume"));
        Assert.True(successor.WaitUntil(() => successor.Printed.Contains($"taking over the lock left by pid {holder.Pid} on {Environment.MachineName}")), successor.Printed);
        Assert.True(successor.WaitUntil(() => Posix.ReadUnlocked(lockFile)?.Contains($"\"pid\": {successor.Pid}") == true), successor.Printed);
    }
}
