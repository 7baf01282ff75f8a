using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using Fmnist.Data;
using Fmnist.Imaging;
using Fmnist.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fmnist.Serve;

/// <summary>
/// The web server: the page, the JSON API and the OpenAPI document for one loaded model. The caller owns the
/// model; the host owns the batcher that feeds it.
/// </summary>
internal sealed class ServeHost : IAsyncDisposable
{
    // Relaxed escaping keeps base64 data URLs as they are ('+' would otherwise become \u002B); the body is JSON, never HTML.
    internal static readonly JsonSerializerOptions Json = new(JsonFiles.Options) { WriteIndented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly WebApplication _app;
    private readonly PredictionBatcher _batcher;
    private readonly IClassifier _model;
    private readonly ServeOptions _options;
    private readonly ServeLimits _limits;
    private readonly ExplainApi _explain;
    private readonly Trust.Judge _judge;
    private readonly DecodeGate _decoders;
    private readonly BodyBudget _bodies;
    private readonly ServeMetrics _metrics;
    private int _inFlight;
    private ListenerSwitch? _listeners;
    private volatile bool _stopping;

    public ServeHost(IClassifier model, ServeOptions options)
    {
        options.Validate();
        _model = model;
        _options = options;
        _limits = options.Limit;
        _decoders = new DecodeGate(_limits.Decoders, _limits.DecodeWait);
        _bodies = new BodyBudget(_limits.BodyBudgetBytes);
        _metrics = new ServeMetrics(Gauges);
        _explain = new ExplainApi(options.Train); // packs the training set once, for every request's neighbours
        _judge = new Trust.Judge(options.Trust, options.Train ?? new LabeledImages([], []), model);
        _judge.Neighbours?.Prepare(); // the training images' search structures, before the first request needs them
        // The feature check reads the batch's own forward pass rather than running one per request.
        _batcher = new PredictionBatcher(model, options.Batch, options.BatchWaitMs, _limits.QueueLimit, _metrics.ObserveBatch,
            images => _judge.Pass(model, images));

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(k =>
        {
            // Against slow clients: headers trickled in, bodies dribbled, idle connections held open, connection floods.
            k.Limits.MaxRequestBodySize = ServeOptions.DrainCeilingBytes; // the API's own 10 MB limit is UploadReader's
            k.Limits.RequestHeadersTimeout = _limits.Headers;
            k.Limits.KeepAliveTimeout = _limits.KeepAlive;
            k.Limits.MinRequestBodyDataRate = new MinDataRate(_limits.MinBodyBytesPerSecond, _limits.Grace);
            k.Limits.MaxConcurrentConnections = _limits.MaxConnections;
            k.AddServerHeader = false;
        });
        // SIGTERM: Kestrel stops accepting connections and waits this long for the requests in flight to be answered.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = _limits.DrainTimeout);
        builder.Services.RemoveAll<IConnectionListenerFactory>();
        builder.Services.AddSingleton<IConnectionListenerFactory>(sp =>
            _listeners = new ListenerSwitch(ActivatorUtilities.CreateInstance<SocketTransportFactory>(sp)));
        builder.Services.Configure<SocketTransportOptions>(o => o.CreateBoundListenSocket = endpoint =>
            (_listeners ?? throw new InvalidOperationException("the listener factory binds the sockets")).CreateBoundListenSocket(endpoint));
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // A failed start (port taken) reaches the caller as an exception, to be told in one line: no stack trace here.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = Json.PropertyNamingPolicy;
            o.SerializerOptions.NumberHandling = Json.NumberHandling;
            o.SerializerOptions.Encoder = Json.Encoder;
            foreach (var c in Json.Converters) o.SerializerOptions.Converters.Add(c);
        });
        builder.Services.AddOpenApi();
        builder.Services.AddSingleton(_metrics); // ErrorMiddleware counts refusals through it
        _app = builder.Build();
        _app.Use(_metrics.Track);
        _app.Use(CloseWhenStopping);
        _app.Use(ErrorMiddleware.Handle);
        if (options.ApiKey is { } key) _app.Use(new ApiKeyCheck(key).Handle);
        _app.MapOpenApi();
        Map(_app);
    }

    /// <summary>The URLs actually bound (a port 0 in the options becomes the real port).</summary>
    public IReadOnlyList<string> Addresses =>
        _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    public Task StartAsync(CancellationToken cancel = default) => _app.StartAsync(cancel);

    /// <summary>Serves until Ctrl-C / SIGTERM or <paramref name="cancel"/>, then stops as <see cref="DrainAsync"/> says.</summary>
    public async Task WaitForShutdownAsync(CancellationToken cancel = default)
    {
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lifetime = _app.Services.GetRequiredService<IHostApplicationLifetime>();
        using (lifetime.ApplicationStopping.Register(() => stop.TrySetResult()))
        using (cancel.Register(() => stop.TrySetResult()))
            await stop.Task;
        await DrainAsync();
    }

    /// <summary>
    /// Stops without losing a request: new connections are turned away at once, while those the kernel already
    /// accepted are taken (<see cref="ListenerSwitch.StopAcceptingAsync"/>); answers from now on close their
    /// connection; requests already on their way over open connections get up to <see cref="ServeLimits.Linger"/> to
    /// arrive; then Kestrel answers every request it holds (within the drain timeout) and closes what is left.
    /// </summary>
    public async Task DrainAsync()
    {
        _stopping = true;
        if (_listeners is { } listeners)
        {
            await listeners.StopAcceptingAsync(_limits.Linger);
            var until = Stopwatch.GetTimestamp() + (long)(_limits.Linger.TotalSeconds * Stopwatch.Frequency);
            while (listeners.Open > 0 && Stopwatch.GetTimestamp() < until) await Task.Delay(10);

        }
        await _app.StopAsync();
    }

    private Task CloseWhenStopping(HttpContext context, RequestDelegate next)
    {
        // Checked as the answer starts, so a request that arrived before the stop also closes its connection after it.
        context.Response.OnStarting(static state =>
        {
            var (host, ctx) = ((ServeHost, HttpContext))state;
            if (host._stopping) ctx.Response.Headers.Connection = "close";
            return Task.CompletedTask;
        }, (this, context));
        return next(context);
    }

    private ServeGauges Gauges() => new(_batcher.Queued, Volatile.Read(ref _inFlight), _decoders.Decoding, _bodies.Reserved);

    private void Map(WebApplication app)
    {
        foreach (var asset in PageAssets.All)
            app.MapGet(asset.Path, () => Results.Bytes(asset.Bytes, asset.ContentType)).ExcludeFromDescription();

        app.MapGet("/health", () => new HealthResponse("ok", Volatile.Read(ref _inFlight), _batcher.Queued, _decoders.Decoding))
            .WithSummary("Liveness: the model is loaded and the server answers; with the model requests in flight, queued and decoding now");

        // Open like /health (ApiKeyCheck guards /api/* only): counts and timings, no one's images, no model time.
        app.MapGet("/metrics", () => Results.Text(_metrics.Render(), PrometheusText.ContentType))
            .WithSummary("Prometheus metrics (text format 0.0.4): requests by route and status, latency and batch-size histograms, queue depth, refusals, predictions")
            .Produces<string>(contentType: "text/plain");

        app.MapGet("/api/model", () =>
        {
            var d = _model.Description;
            return new ModelResponse(ClassNames.All, d.Source, d.Runtime, d.Parameters, d.TestAccuracy, d.Config,
                new BatchingSettings(_options.Batch, _options.BatchWaitMs, _limits.QueueLimit, _limits.DeadlineMs), _options.Samples?.Count);
        }).WithSummary("The served model: classes, source, runtime, parameter count, training config, test accuracy");

        app.MapGet("/api/samples/random", RandomSample)
            .WithSummary("A random Fashion-MNIST test image with its true class and the model's top 3")
            .Produces<SampleResponse>().Produces<ErrorBody>(503).Produces<ErrorBody>(504);

        app.MapPost("/api/predict", Predict)
            .DisableAntiforgery()
            // The body is read by hand (UploadReader), so the accepted types are documented, not enforced by routing:
            // routing's 415 would have no JSON body naming the problem.
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                operation.RequestBody = OpenApiDocs.PredictBody();
                (operation.Parameters ??= []).Add(OpenApiDocs.ExplainParameter());
                return Task.CompletedTask;
            })
            .WithSummary("Classify images: a raw PNG/JPEG body, or multipart/form-data with up to 64 `file` fields; `?explain=true` adds why")
            .WithDescription("Each image is preprocessed like `fmnist predict` (grayscale, background to black, cropped, 28x28). "
                             + "Concurrent requests share forward passes (dynamic batching).")
            .Produces<PredictResponse>()
            .Produces<ErrorBody>(400).Produces<ErrorBody>(413).Produces<ErrorBody>(415).Produces<ErrorBody>(503).Produces<ErrorBody>(504);
    }

    /// <summary>
    /// Refuses (413) a request whose images add up to more pixels than the budget, from their headers alone: no pixel
    /// is decoded for it. Each image's own checks (a readable header, at most 40 MP) come first, as 400.
    /// </summary>
    private long CheckPixelBudget(IReadOnlyList<Upload> uploads)
    {
        long pixels = 0;
        foreach (var u in uploads)
        {
            var (width, height) = PhotoPreprocessor.ReadSize(u.Bytes, u.Name);
            pixels += (long)width * height;
        }
        if (pixels > _limits.PixelBudget)
            throw new ApiException(413, "pixel_budget_exceeded",
                $"the request's {uploads.Count} image(s) hold {Megapixels(pixels)} in all, above the per-request pixel budget of {Megapixels(_limits.PixelBudget)} (--pixel-budget-mp): send fewer or smaller images");
        return pixels;
    }

    private static string Megapixels(long pixels) => pixels >= 100_000 ? $"{pixels / 1e6:0.#} MP" : $"{pixels:N0} pixels";

    /// <summary>
    /// The uploads as 28x28 images, decoded under the gate. Large ones decode on a thread of their own: a pool thread
    /// blocked for a second by each decoder would leave /health and small requests waiting for the pool to grow.
    /// </summary>
    private async Task<List<Photo>> DecodeAsync(IReadOnlyList<Upload> uploads, long pixels, CancellationToken cancel)
    {
        List<Photo> Decode() => uploads.Select(u => PhotoPreprocessor.Decode(u.Bytes, u.Name, cancel)).ToList();
        using (await _decoders.EnterAsync(cancel))
        {
            if (pixels <= InlineDecodePixels) return Decode();
            return await Task.Factory.StartNew(Decode, cancel, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
    }

    // A few ms of decoding: less than starting a thread would cost.
    private const long InlineDecodePixels = 1_000_000;

    /// <summary>
    /// The request's images, read under the body budget and decoded under the gate. The encoded bytes live only in
    /// here: their reservation is given back once they are decoded, before the request waits for the model.
    /// </summary>
    private async Task<(List<string> Names, List<Photo> Photos)> ReadAndDecodeAsync(HttpRequest request, CancellationToken cancel)
    {
        using var body = _bodies.Open();
        var uploads = await UploadReader.ReadAsync(request, body, cancel);
        long pixels = CheckPixelBudget(uploads);
        // Each request decodes its own images, at most --decode-limit requests at once, and stops at the deadline;
        // only inference is batched.
        var photos = await DecodeAsync(uploads, pixels, cancel);
        return ([.. uploads.Select(u => u.Name)], photos);
    }

    private Task<PredictResponse> Predict(HttpRequest request) => WithinDeadline(request.HttpContext, async cancel =>
    {
        long start = Stopwatch.GetTimestamp();
        bool explain = ExplainApi.Requested(request);
        var (names, photos) = await ReadAndDecodeAsync(request, cancel);
        var all = photos.SelectMany(p => p.Pixels).ToArray();
        // Explained: the occluded copies ride in the same job, after the images, whose rows come first.
        var result = await _batcher.PredictAsync(explain ? _explain.Inputs(all, photos.Count) : all, cancel).WaitAsync(cancel);
        var explanations = explain ? _explain.Explain(all, result.Probabilities) : null;
        var verdicts = _judge.Predictions(photos, result.Probabilities, _judge.Distances(all, _judge.FeatureDistance(result.Features, photos.Count)));
        var predictions = names.Select((name, i) => Describe(name, photos[i].Pixels, result.Probabilities, i, verdicts[i]) with { Explanation = explanations?[i] }).ToList();
        foreach (var v in verdicts) _metrics.CountPrediction(v.Recognized);
        return new PredictResponse(predictions, result.BatchImages, Math.Round(result.InferenceMs, 3),
            Math.Round(Stopwatch.GetElapsedTime(start).TotalMilliseconds, 3));
    });

    private Task<IResult> RandomSample(HttpRequest request) => WithinDeadline(request.HttpContext, async cancel =>
    {
        long start = Stopwatch.GetTimestamp();
        if (_options.Samples is not { Count: > 0 } samples)
            return Results.Json(new ErrorBody(503, "no_test_set", "the server was started without the Fashion-MNIST test set"), Json, statusCode: 503);
        int index = Random.Shared.Next(samples.Count);
        var image = samples.Image(index).ToArray();
        var result = await _batcher.PredictAsync(image, cancel).WaitAsync(cancel);
        int label = samples.Labels[index];
        var name = $"test image {index}";
        var verdict = _judge.Predictions([new Photo(name, image, PhotoSignals.OfDatasetImage(image))], result.Probabilities,
            _judge.Distances(image, _judge.FeatureDistance(result.Features, 1)))[0];
        _metrics.CountPrediction(verdict.Recognized);
        return Results.Json(new SampleResponse(index, label, ClassNames.All[label], Describe(name, image, result.Probabilities, 0, verdict),
            result.BatchImages, Math.Round(result.InferenceMs, 3), Math.Round(Stopwatch.GetElapsedTime(start).TotalMilliseconds, 3)), Json);
    });

    /// <summary>
    /// Runs a request that needs the model: refused at once when the queue is full (before its body is even read),
    /// and given up with 504 when the deadline passes; cancelling drops its images from the queue.
    /// </summary>
    private async Task<T> WithinDeadline<T>(HttpContext context, Func<CancellationToken, Task<T>> work)
    {
        if (_batcher.IsFull) throw new QueueFullException(_limits.QueueLimit);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(_limits.Deadline);
        Interlocked.Increment(ref _inFlight);
        try
        {
            return await work(deadline.Token);
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            throw new ApiException(504, "deadline_exceeded", $"not answered within the {_limits.DeadlineMs} ms deadline (--deadline-ms); retry later");
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private static ImagePrediction Describe(string name, byte[] image, float[] probs, int row, Trust.JudgedPrediction verdict)
    {
        var top = Enumerable.Range(0, ClassNames.Count)
            .Select(c => new ClassProbability(c, ClassNames.All[c], Math.Round(probs[row * ClassNames.Count + c], 6)))
            .OrderByDescending(p => p.Probability).ThenBy(p => p.Label).Take(3).ToList();
        return new ImagePrediction(name, top, GrayPng.DataUrl(image), verdict.Recognized, verdict.Reason);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _batcher.DisposeAsync();
        await _app.DisposeAsync();
    }
}
