using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;

namespace Fmnist.Tests;

/// <summary>Tests that build Release in the repository (the launcher, the tool pack): one at a time.</summary>
[CollectionDefinition("release build", DisableParallelization = true)]
public sealed class ReleaseBuildCollection;

/// <summary>
/// The dotnet tool as a user gets it: packed into a local feed, installed with `dotnet tool install
/// --tool-path` into a fresh folder (its own NuGet cache and a config that knows only that feed, a fresh
/// HOME), then every kind of command run from there with no clone around it.
/// </summary>
[Collection("release build")]
[Trait("Category", "Slow")]
public sealed class ToolPackageTests : IDisposable
{
    private readonly string _root = TestData.TempDir();

    /// <summary>The feed, the extracted packages and the installed tool take about 1.3 GB: not left behind.</summary>
    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // a process still holding a file: the temp folder keeps it
        }
    }

    [Fact]
    public async Task Packed_tool_installs_into_a_fresh_folder_and_runs_every_kind_of_command()
    {
        var feed = Path.Combine(_root, "feed");
        // Only this platform's package (the full pack adds osx-arm64); the pointer package comes with it.
        RunAsDeveloper("dotnet", TestData.RepoRoot, TimeSpan.FromMinutes(8), "pack", Path.Combine("src", "Fmnist.Cli"), "-c", "Release", "-o", feed,
            "-p:ToolPackageRuntimeIdentifiers=linux-x64", "-nologo", "-v", "quiet");
        Assert.True(File.Exists(Path.Combine(feed, "fmnist.1.0.0.nupkg")), "no pointer package in " + feed);
        Assert.True(File.Exists(Path.Combine(feed, "fmnist.linux-x64.1.0.0.nupkg")), "no linux-x64 package in " + feed);

        var work = Directory.CreateDirectory(Path.Combine(_root, "user")).FullName;
        var config = Path.Combine(_root, "nuget.config");
        File.WriteAllText(config, $"""<configuration><packageSources><clear /><add key="local" value="{feed}" /></packageSources></configuration>""");
        var tools = Path.Combine(_root, "tools");
        Run("dotnet", work, TimeSpan.FromMinutes(3), "tool", "install", "fmnist", "--tool-path", tools, "--configfile", config);
        var fmnist = Path.Combine(tools, "fmnist");

        var version = Run(fmnist, work, TimeSpan.FromMinutes(1), "--version");
        Assert.StartsWith("fmnist ", version);
        Assert.Matches(@"libtorch \d+\.\d+", version); // libtorch loaded from the installed package: the libstdc++ fix travelled with it

        using (var knn = JsonDocument.Parse(Run(fmnist, work, TimeSpan.FromMinutes(2), "knn", "--k", "1", "--test-limit", "1000", "--json")))
            Assert.InRange(knn.RootElement.GetProperty("results")[0].GetProperty("accuracy").GetDouble(), 0.7, 0.9);

        var run = Path.Combine(work, "runs", "tiny");
        using (var trained = JsonDocument.Parse(Run(fmnist, work, TimeSpan.FromMinutes(3), "train", "--train-limit", "1000", "--epochs", "1",
                   "--lstm", "16", "--dense", "16", "--augment", "none", "--test-limit", "500", "--out", run, "--json")))
            Assert.InRange(trained.RootElement.GetProperty("test_accuracy").GetDouble(), 0.3, 1.0);

        var photo = Path.Combine(work, "boot.png");
        File.WriteAllBytes(photo, ServeTestServer.TestPng(0)); // test image 0 is an ankle boot
        using (var predicted = JsonDocument.Parse(Run(fmnist, work, TimeSpan.FromMinutes(1), "predict", "--model", run, photo, "--json")))
            Assert.Equal(3, predicted.RootElement.GetProperty("predictions")[0].GetProperty("top").GetArrayLength());

        var onnx = Path.Combine(work, "tiny.onnx");
        Run(fmnist, work, TimeSpan.FromMinutes(1), "export", "--model", run, "--format", "onnx", "--file", onnx);
        Assert.True(new FileInfo(onnx).Length > 10_000);

        int port = FreePort();
        var serve = Start(fmnist, work, "serve", "--model", onnx, "--urls", $"http://127.0.0.1:{port}");
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var health = await Poll(http, $"http://127.0.0.1:{port}/health", serve);
            Assert.True(health.IsSuccessStatusCode, $"/health answered {health.StatusCode}");
        }
        finally
        {
            serve.Kill(entireProcessTree: true);
            serve.WaitForExit();
        }
    }

    private static async Task<HttpResponseMessage> Poll(HttpClient http, string url, Process server)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (server.HasExited) throw new InvalidOperationException($"fmnist serve exited with {server.ExitCode}: {server.StandardError.ReadToEnd()}");
            try
            {
                return await http.GetAsync(url);
            }
            catch (HttpRequestException) when (watch.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(250);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private ProcessStartInfo Info(string file, string cwd, string[] args, bool freshUser = true)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (!freshUser) return psi;
        // A fresh user: nothing cached, nothing preloaded; the data comes from the system copy or a download.
        psi.Environment["HOME"] = Directory.CreateDirectory(Path.Combine(_root, "home")).FullName;
        psi.Environment["NUGET_PACKAGES"] = Path.Combine(_root, "nuget-packages");
        psi.Environment.Remove("FASHION_MNIST_DIR");
        psi.Environment.Remove("LD_PRELOAD");
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        return psi;
    }

    private Process Start(string file, string cwd, params string[] args) => Process.Start(Info(file, cwd, args))!;

    /// <summary>Packing happens on the developer's side: their environment and NuGet cache.</summary>
    private string RunAsDeveloper(string file, string cwd, TimeSpan limit, params string[] args) => Wait(Info(file, cwd, args, freshUser: false), limit);

    private string Run(string file, string cwd, TimeSpan limit, params string[] args) => Wait(Info(file, cwd, args), limit);

    private static string Wait(ProcessStartInfo psi, TimeSpan limit)
    {
        string file = psi.FileName;
        var args = psi.ArgumentList;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} ran over {limit}");
        }
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{Path.GetFileName(file)} {string.Join(' ', args)} exited {p.ExitCode}: {stderr.Result}{stdout.Result}");
        return stdout.Result;
    }
}
