using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Fmnist.Serve;
using Xunit.Abstractions;

namespace Fmnist.Tests;

/// <summary>A [Fact] skipped, saying why, where Debian's prometheus is not installed (fails under CI=true: <see cref="Dependencies"/>).</summary>
public sealed class PrometheusFactAttribute : FactAttribute
{
    public const string Binary = "/usr/bin/prometheus";

    public static string? Missing => File.Exists(Binary) ? null : $"Prometheus scrape test: {Binary} missing (apt-get install prometheus)";

    public PrometheusFactAttribute()
    {
        Skip = Dependencies.SkipReason(Missing, Dependencies.InCi);
    }
}

/// <summary>`GET /metrics`: Prometheus' text format with the right counts, read directly and scraped by a real Prometheus.</summary>
[Collection("trained model")]
[Trait("Category", "Slow")]
public sealed partial class ServeMetricsTests(TrainedModelFixture fixture, ITestOutputHelper output)
{
    private const string Key = "metrics-test-key";

    /// <summary>A sample line of the text format: name, optional {labels}, a number.</summary>
    [GeneratedRegex("""^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? (-?[0-9.eE+-]+|\+Inf|NaN)$""")]
    private static partial Regex SampleLine();

    /// <summary>Known traffic: 3 images predicted (a request of 2, one of 1), a broken image, a request without the key, /health.</summary>
    private static async Task SendKnownTraffic(ServeTestServer server)
    {
        var png = ServeTestServer.TestPng(0);
        using var authorized = new HttpClient { BaseAddress = new Uri(server.Url) };
        authorized.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        var form = new MultipartFormDataContent();
        foreach (var name in new[] { "a.png", "b.png" })
        {
            var file = new ByteArrayContent(png);
            file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            form.Add(file, "file", name);
        }
        Assert.Equal(HttpStatusCode.OK, (await authorized.PostAsync("/api/predict", form)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await authorized.PostAsync("/api/predict", Body(png))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await authorized.PostAsync("/api/predict", Body([1, 2, 3]))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.PostAsync("/api/predict", Body(png))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/health")).StatusCode);
    }

    private static ByteArrayContent Body(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        return content;
    }

    [Fact]
    public async Task Metrics_AreTheTextFormat_WithTheCounts_AndOpenWithoutTheKey()
    {
        await using var server = await ServeTestServer.StartAsync(fixture.Directory, apiKey: Key);
        await SendKnownTraffic(server);
        using var response = await server.Client.GetAsync("/metrics"); // no key: open like /health
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        var text = await response.Content.ReadAsStringAsync();
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, l => Assert.True(l.StartsWith("# HELP ", StringComparison.Ordinal) || l.StartsWith("# TYPE ", StringComparison.Ordinal) || SampleLine().IsMatch(l), $"not the text format: {l}"));
        double Value(string series) => double.Parse(Assert.Single(lines, l => l.StartsWith(series + " ", StringComparison.Ordinal))[(series.Length + 1)..], CultureInfo.InvariantCulture);

        Assert.Equal(2, Value("""fmnist_http_requests_total{route="/api/predict",status="200"}"""));
        Assert.Equal(1, Value("""fmnist_http_requests_total{route="/api/predict",status="400"}"""));
        Assert.Equal(1, Value("""fmnist_http_requests_total{route="/api/predict",status="401"}"""));
        Assert.Equal(1, Value("""fmnist_http_requests_total{route="/health",status="200"}"""));
        Assert.Equal(4, Value("""fmnist_request_duration_seconds_count{route="/api/predict"}"""));
        Assert.Equal(4, Value("""fmnist_request_duration_seconds_bucket{route="/api/predict",le="+Inf"}"""));
        Assert.True(Value("""fmnist_request_duration_seconds_sum{route="/api/predict"}""") > 0);
        Assert.Equal(2, Value("fmnist_batch_size_count")); // two passes (the requests came one after the other)
        Assert.Equal(3, Value("fmnist_batch_size_sum"));
        Assert.Equal(1, Value("""fmnist_batch_size_bucket{le="1"}"""));
        Assert.Equal(2, Value("""fmnist_batch_size_bucket{le="2"}"""));
        Assert.Equal(1, Value("""fmnist_refusals_total{reason="bad_image"}"""));
        Assert.Equal(1, Value("""fmnist_refusals_total{reason="unauthorized"}"""));
        Assert.Equal(3, Value("fmnist_predictions_total"));
        Assert.Equal(0, Value("fmnist_predictions_not_recognized_total"));
        Assert.Equal(0, Value("fmnist_queue_depth"));
        Assert.Equal(0, Value("fmnist_decoding_requests"));
        Assert.Contains("# TYPE fmnist_request_duration_seconds histogram", lines);

        // An unknown path is one series, whatever the path: no client can grow the label set.
        await server.Client.GetAsync("/no/such/" + Guid.NewGuid());
        var after = await server.Client.GetStringAsync("/metrics");
        Assert.Contains("fmnist_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n", after);
        Assert.Contains("fmnist_http_requests_total{route=\"/metrics\",status=\"200\"} 1\n", after);
    }

    [PrometheusFact]
    public async Task Metrics_AreScrapedByARealPrometheus()
    {
        Dependencies.Require(PrometheusFactAttribute.Missing);
        await using var server = await ServeTestServer.StartAsync(fixture.Directory, apiKey: Key);
        await SendKnownTraffic(server);

        var dir = TestData.TempDir();
        int port = FreePort();
        var target = new Uri(server.Url);
        File.WriteAllText(Path.Combine(dir, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: fmnist
                metrics_path: /metrics
                static_configs:
                  - targets: ["{target.Host}:{target.Port}"]
            """);
        var psi = new ProcessStartInfo(PrometheusFactAttribute.Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dir,
        };
        foreach (var a in new[] { $"--config.file={Path.Combine(dir, "prometheus.yml")}", $"--storage.tsdb.path={Path.Combine(dir, "data")}",
                     $"--web.listen-address=127.0.0.1:{port}" })
            psi.ArgumentList.Add(a);
        using var prometheus = Process.Start(psi)!;
        var log = prometheus.StandardError.ReadToEndAsync();
        _ = prometheus.StandardOutput.ReadToEndAsync();
        try
        {
            using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
            // Scraped once all the traffic was sent, so the first sample holds the final counts.
            var watch = Stopwatch.StartNew();
            JsonElement requests = default;
            while (watch.Elapsed < TimeSpan.FromSeconds(60) && !prometheus.HasExited)
            {
                try
                {
                    requests = await Query(api, "fmnist_http_requests_total");
                    if (requests.GetArrayLength() >= 4) break;
                }
                catch (HttpRequestException) { } // not listening yet
                await Task.Delay(250);
            }
            if (prometheus.HasExited) Assert.Fail($"prometheus exited: {await log}");
            output.WriteLine($"first scrape seen after {watch.Elapsed.TotalSeconds:F1} s");
            var counts = requests.EnumerateArray().ToDictionary(
                r => (r.GetProperty("metric").GetProperty("route").GetString(), r.GetProperty("metric").GetProperty("status").GetString()),
                r => r.GetProperty("value")[1].GetString());
            Assert.Equal("2", counts[("/api/predict", "200")]);
            Assert.Equal("1", counts[("/api/predict", "400")]);
            Assert.Equal("1", counts[("/api/predict", "401")]);
            Assert.Equal("1", counts[("/health", "200")]);
            Assert.All(requests.EnumerateArray(), r => Assert.Equal("fmnist", r.GetProperty("metric").GetProperty("job").GetString()));

            Assert.Equal("1", Single(await Query(api, "up{job=\"fmnist\"}")));
            Assert.Equal("3", Single(await Query(api, "fmnist_predictions_total")));
            Assert.Equal("0", Single(await Query(api, "fmnist_predictions_not_recognized_total")));
            Assert.Equal("1", Single(await Query(api, "fmnist_refusals_total{reason=\"bad_image\"}")));
            Assert.Equal("4", Single(await Query(api, "fmnist_request_duration_seconds_count{route=\"/api/predict\"}")));
            Assert.Equal("2", Single(await Query(api, "fmnist_batch_size_count")));
            Assert.Equal("0", Single(await Query(api, "fmnist_queue_depth")));
            // Prometheus reads the buckets as a histogram: the median batch of {2, 1} lies within (0, 2].
            double median = double.Parse(Single(await Query(api, "histogram_quantile(0.5, fmnist_batch_size_bucket)")), CultureInfo.InvariantCulture);
            Assert.InRange(median, 0, 2);
        }
        finally
        {
            if (!prometheus.HasExited) prometheus.Kill();
            await prometheus.WaitForExitAsync();
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>An instant query through Prometheus' HTTP API: its result vector.</summary>
    private static async Task<JsonElement> Query(HttpClient api, string promql)
    {
        var body = JsonDocument.Parse(await api.GetStringAsync("/api/v1/query?query=" + Uri.EscapeDataString(promql))).RootElement;
        Assert.Equal("success", body.GetProperty("status").GetString());
        return body.GetProperty("data").GetProperty("result");
    }

    private static string Single(JsonElement result) => Assert.Single(result.EnumerateArray()).GetProperty("value")[1].GetString()!;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
