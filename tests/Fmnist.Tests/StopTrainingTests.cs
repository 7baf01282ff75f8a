using System.Runtime.InteropServices;
using System.Text.Json;

namespace Fmnist.Tests;

/// <summary>Ctrl-C in `train` stops after the epoch under way, with its checkpoint written, and --resume finishes the run.</summary>
public partial class StopTrainingTests
{
    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);

    /// <summary>Whether this process (and so a child it starts) ignores SIGINT: bit 1 of SigIgn in /proc/self/status.</summary>
    private static bool SigIntIgnored()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & (1UL << 1)) != 0;
    }

    [Fact]
    public void Ctrl_c_stops_after_the_epoch_under_way_and_resume_finishes_the_run()
    {
        var data = CliProcess.SmallDataset(6_000, 200);
        var dir = Path.Combine(TestData.TempDir(), "run");
        string[] args = ["train", "--data-dir", data, "--out", dir, "--epochs", "6", "--augment", "none", "--lstm", "32", "--dense", "32", "--batch-size", "64"];
        using (var run = CliProcess.Start(args))
        {
            // The first checkpoint on disk: epoch 2 is under way (output may reach the pipe only later).
            Assert.True(run.WaitUntil(() => File.Exists(Path.Combine(dir, "checkpoint.json"))), run.Printed);
            // A process started in the background inherits SIGINT ignored (as shells start `cmd &`), and .NET keeps it
            // ignored; there SIGTERM, which train treats alike, stands in for Ctrl-C.
            const int sigint = 2, sigterm = 15;
            Assert.Equal(0, kill(run.Pid, SigIntIgnored() ? sigterm : sigint));
            var (code, _, err) = run.Wait();
            Assert.True(code == 130, $"exit {code}: {err}");
            Assert.Contains("stopped after epoch", err);
            Assert.Contains("run the same command with --resume", err);
            Assert.Contains("stopping after this epoch", run.Printed);
            using var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "checkpoint.json")));
            int epoch = state.RootElement.GetProperty("epoch").GetInt32();
            Assert.InRange(epoch, 1, 5);
            Assert.Contains($"stopped after epoch {epoch} of 6", err);
            Assert.False(File.Exists(Path.Combine(dir, "result.json")));
        }
        var (again, output, againErr) = CliProcess.Run([.. args, "--resume"]);
        Assert.True(again == 0, againErr);
        Assert.True(File.Exists(Path.Combine(dir, "result.json")));
        Assert.Contains("resuming after epoch", output + againErr);
    }
}
