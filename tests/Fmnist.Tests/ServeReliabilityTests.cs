using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Fmnist.Serve;

namespace Fmnist.Tests;

/// <summary>
/// `fmnist serve` under pressure, over real HTTP on loopback: a full queue sheds load with 503, a deadline
/// answers 504, slow clients are cut off, and an API key guards /api/*.
/// </summary>
[Collection("trained model")]
[Trait("Category", "Slow")]
public sealed class ServeReliabilityTests(TrainedModelFixture fixture)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(2);

    private static ByteArrayContent Png(int index)
    {
        var content = new ByteArrayContent(ServeTestServer.TestPng(index));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        return content;
    }

    [Fact]
    public async Task Overload_ATinyQueue_Refuses503WithRetryAfter_AndAnswersEveryOther200()
    {
        await using var server = await ServeTestServer.StartAsync(fixture.Directory, batch: 1, waitMs: 0, new ServeLimits(QueueLimit: 2));
        var statuses = new ConcurrentBag<int>();
        var refusals = new ConcurrentBag<(TimeSpan? RetryAfter, string Body)>();
        var stop = DateTime.UtcNow + Short;
        // 64 clients each sending as fast as they are answered, as `hey -c 64` does: far more than 2 can wait.
        await Task.WhenAll(Enumerable.Range(0, 64).Select(c => Task.Run(async () =>
        {
            while (DateTime.UtcNow < stop)
            {
                using var response = await server.Client.PostAsync("/api/predict", Png(c % 20));
                statuses.Add((int)response.StatusCode);
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                    refusals.Add((response.Headers.RetryAfter?.Delta, await response.Content.ReadAsStringAsync()));
            }
        })));

        var counts = statuses.GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());
        var seen = string.Join(", ", counts.Select(kv => $"{kv.Key}: {kv.Value}"));
        Assert.True(counts.Keys.All(s => s is 200 or 503), $"statuses other than 200 and 503: {seen}");
        Assert.True(counts.GetValueOrDefault(200) > 0, $"nothing accepted: {seen}");
        Assert.True(counts.GetValueOrDefault(503) > 0, $"nothing refused with a queue of 2 and 64 clients: {seen}");
        Assert.All(refusals, r =>
        {
            Assert.Equal(TimeSpan.FromSeconds(ServeLimits.RetryAfterSeconds), r.RetryAfter);
            Assert.Contains("\"error\":\"overloaded\"", r.Body);
            Assert.Contains("--queue-limit", r.Body);
        });
        var health = await ServeTestServer.Json(await server.Client.GetAsync("/health"));
        Assert.Equal(0, health.GetProperty("queued").GetInt32()); // every slot given back
    }

    [Fact]
    public async Task Deadline_ARequestNotAnsweredInTime_Gets504BeforeItsBatchWouldHaveRun()
    {
        // The batch waits 1 s for company that never comes; the deadline is 300 ms.
        await using var server = await ServeTestServer.StartAsync(fixture.Directory, batch: 32, waitMs: 1000, new ServeLimits(DeadlineMs: 300));
        foreach (var send in new Func<Task<HttpResponseMessage>>[]
                 {
                     () => server.Client.PostAsync("/api/predict", Png(0)),
                     () => server.Client.GetAsync("/api/samples/random"),
                 })
        {
            var watch = Stopwatch.StartNew();
            using var response = await send();
            long ms = watch.ElapsedMilliseconds;
            Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
            var body = await ServeTestServer.Json(response);
            Assert.Equal("deadline_exceeded", body.GetProperty("error").GetString());
            Assert.Contains("300 ms", body.GetProperty("message").GetString());
            // Without the deadline the batch would have run after its 1 s wait and answered 200; the deadline is not early.
            Assert.True(ms >= 250, $"answered after {ms} ms, before the 300 ms deadline");
        }
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/health")).StatusCode);
    }

    private static ServeLimits SlowClientLimits => new(HeadersTimeout: Short, BodyRateGrace: Short);

    [Fact]
    public async Task SlowClient_TricklingHeaders_IsCutOffAtTheHeadersTimeout()
    {
        await using var server = await ServeTestServer.StartAsync(fixture.Directory, limits: SlowClientLimits);
        using var slow = await RawHttp.ConnectAsync(new Uri(server.Url));
        // ~230 bytes at one byte per 100 ms would take 23 s to arrive.
        var request = RawHttp.Request("GET", "/health")[..^2].Concat("X-Pad: "u8.ToArray()).Concat(Enumerable.Repeat((byte)'a', 180)).Concat("\r\n\r\n"u8.ToArray()).ToArray();
        using var stop = new CancellationTokenSource();
        var watch = Stopwatch.StartNew();
        var trickle = slow.TrickleAsync(request, 1, TimeSpan.FromMilliseconds(100), stop.Token);
        var answer = await slow.ReadToEndAsync(TimeSpan.FromSeconds(30));
        var cut = watch.Elapsed;
        stop.Cancel();
        int sent = await trickle;

        Assert.True(answer == "" || RawHttp.Status(answer) == 408, $"a trickling client got: {answer[..Math.Min(answer.Length, 200)]}");
        // Kestrel checks its timeouts on a 1 s heartbeat, which a loaded machine delays further (5.2 s and 12.7 s
        // seen with the suite running beside it); the whole header would take 23 s, so 16 s still proves the cut.
        Assert.True(cut < TimeSpan.FromSeconds(16), $"cut off after {cut.TotalSeconds:F1} s, headers timeout 2 s");
        Assert.True(sent < request.Length, "the whole header arrived before the server cut it off");
        // Everyone else is still served.
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task SlowClient_TricklingTheBody_IsCutOffBelowTheMinimumRate()
    {
        await using var server = await ServeTestServer.StartAsync(fixture.Directory, limits: SlowClientLimits);
        using var slow = await RawHttp.ConnectAsync(new Uri(server.Url));
        var body = new byte[3000];
        ServeTestServer.TestPng(0).CopyTo(body, 0);
        var request = RawHttp.Request("POST", "/api/predict", "image/png", body);
        int head = request.Length - body.Length;
        await slow.SendAsync(request.AsMemory(0, head)); // headers at once, then 20 bytes/s: below 240 bytes/s
        using var stop = new CancellationTokenSource();
        var watch = Stopwatch.StartNew();
        var trickle = slow.TrickleAsync(request.AsMemory(head), 1, TimeSpan.FromMilliseconds(50), stop.Token);
        var answer = await slow.ReadToEndAsync(TimeSpan.FromSeconds(30));
        var cut = watch.Elapsed;
        stop.Cancel();
        int sent = await trickle;

        Assert.True(answer == "" || RawHttp.Status(answer) == 408, $"a trickling body got: {answer[..Math.Min(answer.Length, 300)]}");
        // The whole body would take 150 s; the same delayed heartbeat as above, so the same 16 s.
        Assert.True(cut < TimeSpan.FromSeconds(16), $"cut off after {cut.TotalSeconds:F1} s, grace 2 s");
        Assert.True(sent < body.Length, "the whole body arrived before the server cut it off");
        Assert.Equal(HttpStatusCode.OK, (await server.Client.PostAsync("/api/predict", Png(1))).StatusCode);
    }

    [Fact]
    public async Task ApiKey_GuardsTheApi_AndLeavesThePageAndHealthOpen()
    {
        const string key = "test-key-0123456789";
        await using var server = await ServeTestServer.StartAsync(fixture.Directory, apiKey: key);
        var client = server.Client;

        using var none = await client.GetAsync("/api/model");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("Bearer", Assert.Single(none.Headers.WwwAuthenticate).Scheme);
        var body = await ServeTestServer.Json(none);
        Assert.Equal("unauthorized", body.GetProperty("error").GetString());
        Assert.Contains("needs an API key", body.GetProperty("message").GetString());

        foreach (var wrong in new[] { "Bearer nope", $"Bearer {key}x", $"Basic {key}", key })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/predict") { Content = Png(0) };
            request.Headers.TryAddWithoutValidation("Authorization", wrong);
            using var response = await client.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"Authorization: {wrong} got {(int)response.StatusCode}");
            Assert.Contains("wrong API key", (await ServeTestServer.Json(response)).GetProperty("message").GetString());
        }

        foreach (var (method, path) in new[] { (HttpMethod.Post, "/api/predict"), (HttpMethod.Get, "/api/model"), (HttpMethod.Get, "/api/samples/random") })
        {
            using var request = new HttpRequestMessage(method, path) { Content = method == HttpMethod.Post ? Png(0) : null };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var response = await client.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} with the key got {(int)response.StatusCode}");
        }
        foreach (var open in new[] { "/health", "/", "/app.js", "/openapi/v1.json" })
            Assert.True((await client.GetAsync(open)).StatusCode == HttpStatusCode.OK, $"{open} is not open");
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080", true)]
    [InlineData("http://localhost:8080", true)]
    [InlineData("http://[::1]:8080", true)]
    [InlineData("http://127.0.0.2:0", true)]
    [InlineData("http://0.0.0.0:8080", false)]
    [InlineData("http://[::]:8080", false)]
    [InlineData("http://*:8080", false)]
    [InlineData("http://+:8080", false)]
    [InlineData("http://192.168.1.5:8080", false)]
    [InlineData("http://myhost:8080", false)]
    public void Loopback_IsToldApartFromAddressesThatLeaveTheMachine(string url, bool loopback)
    {
        Assert.Equal(loopback, ServeOptions.IsLoopback(url));
        var options = new ServeOptions($"http://127.0.0.1:1;{url}");
        if (loopback) options.Validate();
        else Assert.Contains("without an API key", Assert.Throws<FmnistException>(options.Validate).Message);
        (options with { ApiKey = "a-long-enough-key" }).Validate();
    }
}
