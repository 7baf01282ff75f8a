using System.Text.RegularExpressions;
using Fmnist.Data;
using Fmnist.Ensembles;
using Fmnist.Serve;

namespace Fmnist.Tests;

/// <summary>`serve` with no --model: the newest finished run, and a finished ensemble (as `train --preset best` leaves
/// one) served as the ensemble, never one of its members alone.</summary>
[Collection("trained model")]
[Trait("Category", "Slow")]
public sealed partial class ServeDiscoveryTests(TrainedModelFixture fixture)
{
    private static readonly string DataDir = new DataLocator().Locate(null).Directory;

    private static void Touch(string path, DateTime written)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (!File.Exists(path)) File.WriteAllText(path, "{}");
        File.SetLastWriteTimeUtc(path, written);
    }

    private static void FakeRun(string dir, DateTime finished)
    {
        Touch(Path.Combine(dir, "model.pt"), finished);
        Touch(Path.Combine(dir, "result.json"), finished);
    }

    private static DateTime Day(int day) => new(2026, 3, day, 0, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void NewestFinishedEnsemble_IsPickedAsTheEnsemble_NotItsMembers()
    {
        var runs = TestData.TempDir();
        FakeRun(Path.Combine(runs, "single"), Day(1));
        var ensemble = Path.Combine(runs, "best-ensemble3");
        Touch(Path.Combine(ensemble, "ensemble.json"), Day(2));
        // A member's result.json written after the ensemble's (a re-scored member): still not served alone.
        FakeRun(Path.Combine(ensemble, "member-1"), Day(5));
        FakeRun(Path.Combine(ensemble, "member-2"), Day(2));
        Touch(Path.Combine(ensemble, "ensemble-result.json"), Day(3));
        Assert.Equal(Path.GetFullPath(ensemble), Path.GetFullPath(RunDiscovery.Newest(runs)!));

        // A newer single run wins over it, as between runs.
        FakeRun(Path.Combine(runs, "sweep", "later"), Day(4));
        Assert.Equal(Path.GetFullPath(Path.Combine(runs, "sweep", "later")), Path.GetFullPath(RunDiscovery.Newest(runs)!));

        // An unfinished ensemble (no ensemble-result.json) is no model yet; its finished members are runs like others.
        var unfinished = Path.Combine(runs, "unfinished-ensemble2");
        Touch(Path.Combine(unfinished, "ensemble.json"), Day(6));
        FakeRun(Path.Combine(unfinished, "member-1"), Day(6));
        Assert.Equal(Path.GetFullPath(Path.Combine(unfinished, "member-1")), Path.GetFullPath(RunDiscovery.Newest(runs)!));
    }

    [Fact]
    public async Task Serve_WithNoModel_ServesTheFinishedEnsemble()
    {
        // runs/best-ensemble2: two members, copies of the fixture's run, and the files `train --ensemble` writes.
        var work = TestData.TempDir();
        var ensemble = Path.Combine(work, "runs", "best-ensemble2");
        foreach (var member in new[] { "member-1", "member-2" })
        {
            Directory.CreateDirectory(Path.Combine(ensemble, member));
            foreach (var file in new[] { "config.json", "model.pt", "result.json" })
                File.Copy(Path.Combine(fixture.Directory, file), Path.Combine(ensemble, member, file));
        }
        JsonFiles.Write(Path.Combine(ensemble, "ensemble.json"), new EnsembleInfo(TrainedModelFixture.Config, ["member-1", "member-2"], DateTimeOffset.UtcNow));
        JsonFiles.Write(Path.Combine(ensemble, "ensemble-result.json"),
            new EnsembleResult(ensemble, 2, null, fixture.Result.TestAccuracy, 1, 1, 1, [fixture.Result, fixture.Result]));

        using var serve = ServeProcess.StartIn(work, ["serve", "--data-dir", DataDir, "--urls", "http://127.0.0.1:0"], ServeOptions.ApiKeyVariable);
        var lines = new List<string>();
        string? url = null;
        while (url is null && await serve.Stdout.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120)) is { } line)
        {
            lines.Add(line);
            if (ListeningLine().Match(line) is { Success: true } m) url = m.Groups[1].Value;
        }
        Assert.True(url is not null, $"serve did not listen: {string.Join(" | ", lines)}");
        Assert.Equal($"Serving the newest finished run: {Path.Combine("runs", "best-ensemble2")} (pick another with --model)", lines[0]);

        using var client = new HttpClient { BaseAddress = new Uri(url!) };
        var model = await ServeTestServer.Json(await client.GetAsync("/api/model"));
        Assert.Equal("torchsharp ensemble of 2", model.GetProperty("runtime").GetString());
        Assert.Equal(Path.GetFullPath(ensemble), model.GetProperty("source").GetString());
        serve.Terminate();
        var (code, _) = await serve.ExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, code);
    }

    [GeneratedRegex(@"^Listening on (http://\S+)")]
    private static partial Regex ListeningLine();
}
