using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Fmnist.Serve;

/// <summary>The gauges read at each scrape: requests waiting for a pass, handled now, decoding now, and the request-body bytes reserved.</summary>
public sealed record ServeGauges(int Queued, int InFlight, int Decoding, long BodyBytes);

/// <summary>
/// What `GET /metrics` shows, in Prometheus' text format: requests by route and status, their latency, the batch
/// sizes of forward passes, the queue, refusals by reason and predictions. Labels come from fixed sets (route
/// patterns, status codes, error codes), so no client can make the series grow without bound.
/// </summary>
public sealed class ServeMetrics(Func<ServeGauges> gauges)
{
    /// <summary>Latency buckets in seconds: from a cached page asset (~1 ms) to the 10 s default deadline and past it.</summary>
    private static readonly double[] Seconds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    /// <summary>Images per forward pass: powers of two up to the largest --batch.</summary>
    private static readonly double[] Images = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

    /// <summary>The route label of a request no endpoint matched (404, 405): one series whatever the path.</summary>
    public const string Unmatched = "unmatched";

    /// <summary>The status label of a request whose client left before any answer (nginx's "client closed request").</summary>
    public const int ClientClosed = 499;

    private readonly ConcurrentDictionary<(string Route, int Status), long[]> _requests = new();
    private readonly ConcurrentDictionary<string, Histogram> _durations = new();
    private readonly ConcurrentDictionary<string, long[]> _refusals = new();
    private readonly Histogram _batches = new(Images);
    private long _predictions, _notRecognized;

    /// <summary>
    /// One prediction returned. <paramref name="recognized"/>: whether the model took the image for a garment at all;
    /// the predict route passes true until predictions carry that flag.
    /// </summary>
    public void CountPrediction(bool recognized)
    {
        Interlocked.Increment(ref _predictions);
        if (!recognized) Interlocked.Increment(ref _notRecognized);
    }

    /// <summary>A request refused with a JSON error; <paramref name="reason"/> is its error code (overloaded, bad_image, ...).</summary>
    public void CountRefusal(string reason) => Interlocked.Increment(ref _refusals.GetOrAdd(reason, _ => new long[1])[0]);

    /// <summary>A forward pass of <paramref name="images"/> images.</summary>
    public void ObserveBatch(int images) => _batches.Observe(images);

    /// <summary>Middleware: times every request and counts it by route pattern and final status.</summary>
    internal async Task Track(HttpContext context, RequestDelegate next)
    {
        long start = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            // After the pipeline the endpoint is known (routing ran inside it) and the status is final.
            string route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? Unmatched;
            int status = context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted ? ClientClosed : context.Response.StatusCode;
            Interlocked.Increment(ref _requests.GetOrAdd((route, status), _ => new long[1])[0]);
            _durations.GetOrAdd(route, _ => new Histogram(Seconds)).Observe(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
    }

    public string Render()
    {
        var text = new StringBuilder();
        PrometheusText.Header(text, "fmnist_http_requests_total", "counter", "HTTP requests answered, by route pattern and status code (499: the client left first).");
        foreach (var ((route, status), count) in _requests.OrderBy(r => r.Key.Route, StringComparer.Ordinal).ThenBy(r => r.Key.Status))
            PrometheusText.Sample(text, "fmnist_http_requests_total",
                $"{PrometheusText.Label("route", route)},{PrometheusText.Label("status", status.ToString(System.Globalization.CultureInfo.InvariantCulture))}", Interlocked.Read(ref count[0]));

        PrometheusText.Header(text, "fmnist_request_duration_seconds", "histogram", "Time from a request's arrival to the end of its answer, by route pattern.");
        foreach (var (route, histogram) in _durations.OrderBy(d => d.Key, StringComparer.Ordinal))
            histogram.Write(text, "fmnist_request_duration_seconds", PrometheusText.Label("route", route));

        PrometheusText.Header(text, "fmnist_batch_size", "histogram", "Images per forward pass of the model (requests batched together).");
        _batches.Write(text, "fmnist_batch_size", "");

        var now = gauges();
        PrometheusText.Header(text, "fmnist_queue_depth", "gauge", "Requests waiting for a forward pass (refused beyond --queue-limit).");
        PrometheusText.Sample(text, "fmnist_queue_depth", "", now.Queued);
        PrometheusText.Header(text, "fmnist_requests_in_flight", "gauge", "Requests for the model being handled: reading, decoding, queued or in a pass.");
        PrometheusText.Sample(text, "fmnist_requests_in_flight", "", now.InFlight);
        PrometheusText.Header(text, "fmnist_decoding_requests", "gauge", "Requests decoding their images now (at most --decode-limit).");
        PrometheusText.Sample(text, "fmnist_decoding_requests", "", now.Decoding);
        PrometheusText.Header(text, "fmnist_body_bytes_reserved", "gauge", "Request-body bytes held by requests being read or decoded (at most --body-budget-mb).");
        PrometheusText.Sample(text, "fmnist_body_bytes_reserved", "", now.BodyBytes);

        PrometheusText.Header(text, "fmnist_refusals_total", "counter", "Requests refused with a JSON error, by its error code.");
        foreach (var (reason, count) in _refusals.OrderBy(r => r.Key, StringComparer.Ordinal))
            PrometheusText.Sample(text, "fmnist_refusals_total", PrometheusText.Label("reason", reason), Interlocked.Read(ref count[0]));

        PrometheusText.Header(text, "fmnist_predictions_total", "counter", "Images classified and answered.");
        PrometheusText.Sample(text, "fmnist_predictions_total", "", Interlocked.Read(ref _predictions));
        PrometheusText.Header(text, "fmnist_predictions_not_recognized_total", "counter", "Of those, images the model did not recognize as a garment.");
        PrometheusText.Sample(text, "fmnist_predictions_not_recognized_total", "", Interlocked.Read(ref _notRecognized));
        return text.ToString();
    }
}
