using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using Fmnist.Data;
using Fmnist.Serve;

namespace Fmnist.Tests;

/// <summary>A real `fmnist serve` process: SIGTERM answers every request in flight, and it will not leave loopback without a key.</summary>
[Collection("trained model")]
[Trait("Category", "Slow")]
public sealed class ServeDrainTests(TrainedModelFixture fixture)
{
    private static readonly string DataDir = new DataLocator().Locate(null).Directory;

    [Fact]
    public async Task Sigterm_StopsTakingConnections_AnswersEveryRequestInFlight_AndExitsZero()
    {
        // A batch waits up to 1 s for company, so the quick requests sit in the batcher when SIGTERM comes.
        using var serve = ServeProcess.Start(["serve", "--model", fixture.Directory, "--data-dir", DataDir, "--urls", "http://127.0.0.1:0",
            "--json", "--max-batch", "64", "--batch-wait-ms", "1000"], ServeOptions.ApiKeyVariable);
        var url = new Uri((await serve.ReadJsonAsync()).GetProperty("urls")[0].GetString()!);
        using var health = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(10) };

        // 8 slow uploads (a 3,000-byte body over ~3 s, above the minimum rate) and 8 whole requests.
        var body = new byte[3000];
        ServeTestServer.TestPng(0).CopyTo(body, 0);
        var slowRequest = RawHttp.Request("POST", "/api/predict", "image/png", body);
        int head = slowRequest.Length - body.Length;
        var clients = new List<RawHttp>();
        var slow = new List<Task>();
        for (int i = 0; i < 8; i++)
        {
            var c = await RawHttp.ConnectAsync(url);
            clients.Add(c);
            await c.SendAsync(slowRequest.AsMemory(0, head + 250));
            slow.Add(c.TrickleAsync(slowRequest.AsMemory(head + 250), 250, TimeSpan.FromMilliseconds(250)));
        }
        for (int i = 0; i < 8; i++)
        {
            var c = await RawHttp.ConnectAsync(url);
            clients.Add(c);
            await c.SendAsync(RawHttp.Request("POST", "/api/predict", "image/png", ServeTestServer.TestPng(i + 1)));
        }
        var answers = clients.Select(c => c.ReadToEndAsync(TimeSpan.FromSeconds(30))).ToList();

        // Every request is in the server's hands (being read, or waiting for its pass) before the signal.
        int inFlight = 0;
        for (var watch = Stopwatch.StartNew(); watch.Elapsed < TimeSpan.FromSeconds(10) && inFlight < 16;)
            inFlight = (await ServeTestServer.Json(await health.GetAsync("/health"))).GetProperty("in_flight").GetInt32();
        Assert.True(inFlight == 16, $"only {inFlight} of 16 requests in flight before SIGTERM");
        Assert.Equal(0, answers.Count(a => a.IsCompleted)); // none answered yet: all of them cross the signal
        serve.Terminate();

        // New connections are refused while the slow uploads are still coming in.
        bool refused = false;
        for (var watch = Stopwatch.StartNew(); watch.Elapsed < TimeSpan.FromSeconds(1.5) && !refused;)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(url.Host, url.Port);
                await Task.Delay(20);
            }
            catch (SocketException)
            {
                refused = true;
            }
        }
        bool uploadsStillRunning = slow.Any(t => !t.IsCompleted);

        await Task.WhenAll(slow);
        var responses = await Task.WhenAll(answers);
        var (code, err) = await serve.ExitAsync(TimeSpan.FromSeconds(30));
        foreach (var c in clients) c.Dispose();

        Assert.True(refused, "a new connection was still accepted 1.5 s after SIGTERM");
        Assert.True(uploadsStillRunning, "the slow uploads had finished before new connections were refused: the test proved nothing");
        for (int i = 0; i < responses.Length; i++)
            Assert.True(RawHttp.Status(responses[i]) == 200, $"request {i} (sent before SIGTERM) got: {responses[i][..Math.Min(200, responses[i].Length)]}");
        Assert.Equal(0, code);
        Assert.Contains("fmnist serve: stopped", err);
    }

    [Fact]
    public async Task Stop_ARequestSentOnAKeptAliveConnectionJustAfterTheStop_IsStillAnswered()
    {
        // Kestrel alone closes a connection that sits between two requests when it stops: a request the client sent
        // on it at that moment (it could not know) would be lost. The stop lets it arrive, answers it, then closes.
        var model = Inference.Classifiers.Open(fixture.Directory);
        var host = new ServeHost(model, new ServeOptions("http://127.0.0.1:0", Samples: TestData.Fashion.Test));
        try
        {
            await host.StartAsync();
            var url = new Uri(host.Addresses.Single());
            using var client = await RawHttp.ConnectAsync(url);
            var request = RawHttp.Request("POST", "/api/predict", "image/png", ServeTestServer.TestPng(0), keepAlive: true);
            await client.SendAsync(request);
            var (first, _) = await client.ReadResponseAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(200, RawHttp.Status(first));
            Assert.DoesNotContain("Connection: close", first, StringComparison.OrdinalIgnoreCase);

            var drain = host.DrainAsync(); // as SIGTERM does
            await client.SendAsync(request); // the client's next request, already on its way
            var second = await client.ReadToEndAsync(TimeSpan.FromSeconds(30));
            Assert.True(RawHttp.Status(second) == 200, $"the request sent as the server stopped got: {second[..Math.Min(200, second.Length)]}");
            Assert.Contains("Connection: close", second, StringComparison.OrdinalIgnoreCase);
            await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(() => RawHttp.ConnectAsync(url)); // and nobody new gets in
            await drain.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            await host.DisposeAsync();
            model.Dispose();
        }
    }

    [Theory]
    [InlineData("http://0.0.0.0:0")]
    [InlineData("http://127.0.0.1:0;http://[::]:0")]
    public async Task NonLoopbackWithoutAKey_IsRefusedInOneLine(string urls)
    {
        using var serve = ServeProcess.Start(["serve", "--model", fixture.Directory, "--data-dir", DataDir, "--urls", urls], ServeOptions.ApiKeyVariable);
        var (code, err) = await serve.ExitAsync(TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, code);
        var line = Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("without an API key", line);
        Assert.Contains("--api-key", line);
        Assert.Equal("", await serve.Stdout.ReadToEndAsync());
    }
}
