using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Fmnist.Data;
using Fmnist.Serve;
using Xunit.Abstractions;

namespace Fmnist.Tests;

/// <summary>
/// Uploads are bounded before they cost memory: a server-wide budget of request-body bytes reserved before they are
/// read (503 + Retry-After), a per-request pixel budget read from the image headers (413), a gate on how many requests
/// decode at once (503 + Retry-After), and a real server that stays small and answers /health while six clients each
/// send 64 photos of 40 MP.
/// </summary>
[Collection("trained model")]
[Trait("Category", "Slow")]
public sealed class ServeUploadLimitTests(TrainedModelFixture fixture, ITestOutputHelper output)
{
    private static readonly string DataDir = new DataLocator().Locate(null).Directory;

    private static MultipartFormDataContent Files(byte[] image, int count, string name = "photo.png")
    {
        var form = new MultipartFormDataContent();
        for (int i = 0; i < count; i++)
        {
            var file = new ByteArrayContent(image);
            file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            form.Add(file, "file", $"{i + 1}-{name}");
        }
        return form;
    }

    /// <summary>A multipart body: one test image as `file`, then a text field of <paramref name="padding"/> bytes the server skips.</summary>
    private static async Task<(byte[] Body, MediaTypeHeaderValue Type)> Padded(int padding)
    {
        using var form = Files(ServeTestServer.TestPng(0), 1);
        form.Add(new ByteArrayContent(new byte[padding]), "padding");
        return (await form.ReadAsByteArrayAsync(), form.Headers.ContentType!);
    }

    /// <summary>
    /// A body sent in two parts: the first <c>before</c> bytes, then the rest once <c>release</c> completes. With
    /// <c>announce</c> it has a Content-Length; without, HttpClient sends it chunked.
    /// </summary>
    private sealed class HeldBody(byte[] body, MediaTypeHeaderValue type, int before, Task release, bool announce = true) : HttpContent
    {
        public HeldBody Typed()
        {
            Headers.ContentType = type;
            return this;
        }

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            await stream.WriteAsync(body.AsMemory(0, before));
            await stream.FlushAsync();
            await release;
            await stream.WriteAsync(body.AsMemory(before));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return announce;
        }
    }

    private static async Task<double> Metric(HttpClient client, string series)
    {
        var text = await client.GetStringAsync("/metrics");
        var line = text.Split('\n').Single(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task BodyBudget_HeldBySlowUploads_AFurtherBodyGets503AtOnce_HealthAnswers_ThenTheBudgetIsBack()
    {
        // A 10 MB budget; two uploads announce 4 MB each, send 64 KB and stall: 8 MB are reserved before they are read.
        const int Mb = 1024 * 1024;
        await using var server = await ServeTestServer.StartAsync(fixture.Directory,
            limits: new ServeLimits(DeadlineMs: 120_000, BodyBudgetBytes: ServeOptions.MaxBodyBytes));
        var (body, type) = await Padded(4 * Mb);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = Enumerable.Range(0, 2).Select(_ => server.Client.PostAsync("/api/predict", new HeldBody(body, type, 64 * 1024, release.Task).Typed())).ToList();
        using var probe = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            double reserved = 0;
            for (var watch = Stopwatch.StartNew(); reserved < 2 * body.Length && watch.Elapsed < TimeSpan.FromSeconds(30);)
                reserved = await Metric(probe, "fmnist_body_bytes_reserved");
            Assert.Equal(2 * body.Length, reserved);

            // A third 4 MB body, by its Content-Length, is refused before it is read; so is a chunked one once 2 MB of it
            // have arrived. Both are answered while the two stalled uploads still hold their reservations.
            using var refused = await server.Client.PostAsync("/api/predict", new ByteArrayContent(body) { Headers = { ContentType = type } });
            using var chunked = await server.Client.PostAsync("/api/predict", new HeldBody(body, type, body.Length, Task.CompletedTask, announce: false).Typed());
            Assert.All(held, h => Assert.False(h.IsCompleted, "a stalled upload was answered before it was released"));
            foreach (var (response, what) in new[] { (refused, $"{body.Length / (double)Mb:0.#} MB"), (chunked, "") })
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.Equal(TimeSpan.FromSeconds(ServeLimits.RetryAfterSeconds), response.Headers.RetryAfter?.Delta);
                var error = await ServeTestServer.Json(response);
                Assert.Equal("overloaded", error.GetProperty("error").GetString());
                Assert.StartsWith("the server is busy: uploads in flight hold its 10 MB body budget (--body-budget-mb), no room for " + what,
                    error.GetProperty("message").GetString());
            }
            Assert.Equal(2, await Metric(probe, """fmnist_refusals_total{reason="overloaded"}"""));
            // A small upload still fits beside them, and /health answers without touching the budget.
            using var small = await server.Client.PostAsync("/api/predict", Files(ServeTestServer.TestPng(1), 1));
            Assert.Equal(HttpStatusCode.OK, small.StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await probe.GetAsync("/health")).StatusCode);
            Assert.Equal(2 * body.Length, await Metric(probe, "fmnist_body_bytes_reserved"));
        }
        finally
        {
            release.TrySetResult();
        }
        foreach (var h in held)
        {
            using var answered = await h;
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        }
        // Given back: nothing reserved, and a body of 9 MB (more than was ever free while they were held) is answered.
        Assert.Equal(0, await Metric(probe, "fmnist_body_bytes_reserved"));
        var (large, largeType) = await Padded(9 * Mb);
        using var after = await server.Client.PostAsync("/api/predict", new ByteArrayContent(large) { Headers = { ContentType = largeType } });
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task PixelBudget_ARequestOverIt_Is413FromTheHeaders_OneUnderIt_Is200()
    {
        // Three 28x28 images hold 2,352 pixels; the budget is 2,000.
        await using var server = await ServeTestServer.StartAsync(fixture.Directory, limits: new ServeLimits(PixelBudget: 2000));
        var png = ServeTestServer.TestPng(0);
        using var refused = await server.Client.PostAsync("/api/predict", Files(png, 3));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        var body = await ServeTestServer.Json(refused);
        Assert.Equal(413, body.GetProperty("status").GetInt32());
        Assert.Equal("pixel_budget_exceeded", body.GetProperty("error").GetString());
        Assert.Equal("the request's 3 image(s) hold 2,352 pixels in all, above the per-request pixel budget of 2,000 pixels (--pixel-budget-mp): send fewer or smaller images",
            body.GetProperty("message").GetString());

        using var accepted = await server.Client.PostAsync("/api/predict", Files(png, 2));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        // A broken image is still told as such (400), before the budget is summed.
        using var broken = await server.Client.PostAsync("/api/predict", Files([1, 2, 3], 1, "notes.png"));
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
        Assert.Contains("1-notes.png: not a PNG or JPEG image", await broken.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task DecodeSlots_AllTaken_TheNextRequestGets503WithRetryAfter_TheFirstIsAnswered()
    {
        // One slot, no wait: while two 40 MP PNGs decode, any other upload is refused at once.
        await using var server = await ServeTestServer.StartAsync(fixture.Directory,
            limits: new ServeLimits(DecodeLimit: 1, DecodeWaitTimeout: TimeSpan.Zero));
        var heavy = server.Client.PostAsync("/api/predict", Files(BigImages.Png40, 2, "big.png"));
        using var health = new HttpClient { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromSeconds(10) };
        int decoding = 0;
        for (var watch = Stopwatch.StartNew(); decoding == 0 && !heavy.IsCompleted && watch.Elapsed < TimeSpan.FromSeconds(30);)
            decoding = (await ServeTestServer.Json(await health.GetAsync("/health"))).GetProperty("decoding").GetInt32();
        Assert.True(decoding == 1, "the heavy request was never seen decoding");

        using var refused = await server.Client.PostAsync("/api/predict", Files(ServeTestServer.TestPng(1), 1));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(ServeLimits.RetryAfterSeconds), refused.Headers.RetryAfter?.Delta);
        var body = await ServeTestServer.Json(refused);
        Assert.Equal("overloaded", body.GetProperty("error").GetString());
        Assert.Contains("--decode-limit", body.GetProperty("message").GetString());

        using var answered = await heavy;
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        var predictions = (await ServeTestServer.Json(answered)).GetProperty("predictions");
        Assert.Equal(2, predictions.GetArrayLength());
        Assert.Equal(0, (await ServeTestServer.Json(await health.GetAsync("/health"))).GetProperty("decoding").GetInt32());
    }

    [Fact]
    public async Task SixClientsSending64PhotosOf40MP_AreRefusedQuickly_HealthAnswers_MemoryStaysBounded()
    {
        // The measured attack: six requests of 64 PNGs of 40 MP each (~4 MB a request). Beside them six requests of
        // two such photos (80 MP, inside the 100 MP budget) go through the decoding gate: answered or refused with 503.
        using var serve = ServeProcess.Start(["serve", "--model", fixture.Directory, "--data-dir", DataDir, "--urls", "http://127.0.0.1:0", "--json"],
            ServeOptions.ApiKeyVariable);
        var url = new Uri((await serve.ReadJsonAsync()).GetProperty("urls")[0].GetString()!);
        using var client = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(60) };
        double startMb = serve.PeakResidentMb();

        var healthLatencies = new ConcurrentBag<double>();
        var healthFailures = new ConcurrentBag<string>();
        using var stopHealth = new CancellationTokenSource();
        var healthLoop = Task.Run(async () =>
        {
            using var probe = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(5) };
            while (!stopHealth.IsCancellationRequested)
            {
                var watch = Stopwatch.StartNew();
                try
                {
                    using var r = await probe.GetAsync("/health");
                    if (r.StatusCode != HttpStatusCode.OK) healthFailures.Add($"status {(int)r.StatusCode}");
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    healthFailures.Add(e.GetType().Name);
                }
                healthLatencies.Add(watch.Elapsed.TotalSeconds);
                await Task.Delay(100);
            }
        });

        async Task<(int Status, double Seconds, string Error)> Send(int photos)
        {
            var watch = Stopwatch.StartNew();
            using var response = await client.PostAsync("/api/predict", Files(BigImages.Png40, photos, "big.png"));
            string error = response.IsSuccessStatusCode ? "" : (await ServeTestServer.Json(response)).GetProperty("error").GetString()!;
            return ((int)response.StatusCode, watch.Elapsed.TotalSeconds, error);
        }
        var attack = Enumerable.Range(0, 6).Select(_ => Task.Run(() => Send(64))).ToList();
        var heavy = Enumerable.Range(0, 6).Select(_ => Task.Run(() => Send(2))).ToList();
        var attacks = await Task.WhenAll(attack);
        var heavies = await Task.WhenAll(heavy);
        await Task.Delay(300); // a few probes after the last answer
        await stopHealth.CancelAsync();
        await healthLoop;
        double peakMb = serve.PeakResidentMb();

        output.WriteLine($"attack: {string.Join(", ", attacks.Select(a => $"{a.Status} {a.Error} in {a.Seconds:F2} s"))}");
        output.WriteLine($"2 x 40 MP: {string.Join(", ", heavies.Select(a => $"{a.Status} {a.Error} in {a.Seconds:F2} s"))}");
        output.WriteLine($"/health: {healthLatencies.Count} probes, slowest {healthLatencies.Max() * 1000:F0} ms; peak RSS {startMb:F0} MB at start, {peakMb:F0} MB in all");
        Assert.All(attacks, a => Assert.True(a.Status is (>= 400 and < 500) or 503 && a.Seconds < 15, $"attack answered {a.Status} {a.Error} in {a.Seconds:F1} s"));
        Assert.All(heavies, a => Assert.True(a.Status is 200 or 503 && a.Seconds < 15, $"2 x 40 MP answered {a.Status} {a.Error} in {a.Seconds:F1} s"));
        Assert.True(healthFailures.IsEmpty, $"/health failed: {string.Join(", ", healthFailures)}");
        Assert.True(healthLatencies.Max() < 2, $"/health took {healthLatencies.Max():F1} s");
        Assert.True(peakMb < 1024, $"peak resident memory {peakMb:F0} MB");
    }
}
