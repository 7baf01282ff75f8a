using System.Diagnostics;

namespace Fmnist.Tests;

/// <summary>
/// The ./fmnist launcher builds only when a source changed. The defect: the Debug build of ./test.sh
/// writes generated .cs files under src/*/obj/ that were newer than the Release dll, and a no-op
/// Release build left the dll's time alone, so every call rebuilt (6.6 s for `--version`).
/// </summary>
[Collection("release build")]
[Trait("Category", "Slow")]
public class LauncherTests
{
    private static readonly string Launcher = Path.Combine(TestData.RepoRoot, "fmnist");

    [Fact]
    public void Generated_files_under_obj_do_not_trigger_a_build_and_a_source_change_does()
    {
        var first = RunLauncher("--version");
        Assert.True(first.Code == 0, first.Err);

        // What a Debug build does: a generated source under obj/, newer than everything.
        var generated = Path.Combine(TestData.RepoRoot, "src", "Fmnist.Core", "obj", "Debug", "launcher-test.g.cs");
        Directory.CreateDirectory(Path.GetDirectoryName(generated)!);
        File.WriteAllText(generated, "// written by LauncherTests");
        try
        {
            var second = RunLauncher("--version");
            Assert.True(second.Code == 0, second.Err);
            Assert.DoesNotContain("building", second.Err);
            Assert.StartsWith("fmnist ", second.Out);
        }
        finally
        {
            File.Delete(generated);
        }

        // A real source saved after the last build: the next call builds, the one after it does not.
        var source = Path.Combine(TestData.RepoRoot, "src", "Fmnist.Cli", "Program.cs");
        File.SetLastWriteTimeUtc(source, DateTime.UtcNow);
        var rebuilt = RunLauncher("--version");
        Assert.True(rebuilt.Code == 0, rebuilt.Err);
        Assert.Contains("fmnist: building (Release)...", rebuilt.Err);
        var fresh = RunLauncher("--version");
        Assert.DoesNotContain("building", fresh.Err);
    }

    private static (int Code, string Out, string Err) RunLauncher(params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = TestData.RepoRoot };
        psi.ArgumentList.Add(Launcher);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"./fmnist {string.Join(' ', args)} ran over 5 minutes");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
