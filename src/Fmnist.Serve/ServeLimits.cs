using Fmnist.Data;

namespace Fmnist.Serve;

/// <summary>
/// How much `fmnist serve` takes on before it refuses, and how long it waits for a client. Defaults live here only;
/// the CLI's help repeats the ones it exposes.
/// </summary>
/// <param name="QueueLimit">Most requests waiting for the batcher (queued, not yet in a forward pass); one more gets 503 + Retry-After.</param>
/// <param name="DeadlineMs">A request not answered this long after its headers arrived gets 504; its images are dropped if their pass has not started.</param>
/// <param name="MaxConnections">Open connections Kestrel keeps at once; more are closed as they arrive.</param>
/// <param name="HeadersTimeout">All request headers must arrive within this (a client trickling them is cut off with 408).</param>
/// <param name="KeepAliveTimeout">An idle keep-alive connection is closed after this.</param>
/// <param name="MinBodyBytesPerSecond">A body arriving slower than this (after <paramref name="BodyRateGrace"/>) is cut off with 408.</param>
/// <param name="BodyRateGrace">How long a body may start slowly before <paramref name="MinBodyBytesPerSecond"/> is enforced.</param>
/// <param name="PixelBudget">Most pixels (width x height from each image's header, summed) one predict request may ask to decode; more get 413.</param>
/// <param name="DecodeLimit">Requests decoding images at once; null: one per core.</param>
/// <param name="DecodeWaitTimeout">How long a request waits for a decoding slot before it gets 503 + Retry-After.</param>
/// <param name="BodyBudgetBytes">Most request-body bytes all requests hold at once, reserved before they are read; a body that does not fit gets 503 + Retry-After.</param>
public sealed record ServeLimits(
    int QueueLimit = ServeLimits.DefaultQueueLimit,
    int DeadlineMs = ServeLimits.DefaultDeadlineMs,
    int MaxConnections = ServeLimits.DefaultMaxConnections,
    TimeSpan? HeadersTimeout = null,
    TimeSpan? KeepAliveTimeout = null,
    double MinBodyBytesPerSecond = ServeLimits.DefaultMinBodyBytesPerSecond,
    TimeSpan? BodyRateGrace = null,
    long PixelBudget = ServeLimits.DefaultPixelBudget,
    int? DecodeLimit = null,
    TimeSpan? DecodeWaitTimeout = null,
    long BodyBudgetBytes = ServeLimits.DefaultBodyBudgetBytes)
{
    public const int DefaultQueueLimit = 128;
    public const int DefaultDeadlineMs = 10_000;
    public const int DefaultMaxConnections = 512;
    public const double DefaultMinBodyBytesPerSecond = 240; // Kestrel's own default: a slow phone link still passes
    public static readonly TimeSpan DefaultHeadersTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan DefaultKeepAliveTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultBodyRateGrace = TimeSpan.FromSeconds(5);

    /// <summary>
    /// 100 MP a request: eight 12 MP phone photos, or 64 photos of 1.5 MP. Decoding is bounded in memory whatever the
    /// size (strips, reduced scale), but not in time: a 40 MP PNG takes a few hundred ms of a core.
    /// </summary>
    public const long DefaultPixelBudget = 100_000_000;

    /// <summary>
    /// Four bodies of the 10 MB limit, or dozens of ordinary uploads, held at once: bounded memory whatever the number
    /// of connections, with room for several large requests to be read while others decode.
    /// </summary>
    public const long DefaultBodyBudgetBytes = 4 * ServeOptions.MaxBodyBytes;

    /// <summary>Short next to the deadline: a client refused for load is better told at once than left waiting.</summary>
    public static readonly TimeSpan DefaultDecodeWait = TimeSpan.FromSeconds(1);

    /// <summary>What a refused client is told to wait before trying again (HTTP allows whole seconds only).</summary>
    public const int RetryAfterSeconds = 1;

    public TimeSpan Headers => HeadersTimeout ?? DefaultHeadersTimeout;
    public TimeSpan KeepAlive => KeepAliveTimeout ?? DefaultKeepAliveTimeout;
    public TimeSpan Grace => BodyRateGrace ?? DefaultBodyRateGrace;
    public TimeSpan Deadline => TimeSpan.FromMilliseconds(DeadlineMs);
    public TimeSpan DecodeWait => DecodeWaitTimeout ?? DefaultDecodeWait;

    /// <summary>Decoding is CPU-bound: more at once than cores only adds memory and latency.</summary>
    public int Decoders => DecodeLimit ?? Environment.ProcessorCount;

    /// <summary>
    /// How long SIGTERM waits for requests in flight: every one ends within its deadline, so the deadline plus a
    /// margin for writing the answer lets each be answered rather than cut off.
    /// </summary>
    public TimeSpan DrainTimeout => Deadline + TimeSpan.FromSeconds(5);

    /// <summary>
    /// After SIGTERM, how long open connections may still bring a request before Kestrel closes the idle ones: long
    /// enough for one a client sent just as its previous answer came back; short, since it delays every stop where a
    /// client keeps an idle connection open.
    /// </summary>
    public TimeSpan Linger => TimeSpan.FromSeconds(1);

    public const long Megabyte = 1024 * 1024;
    public const long MaxBodyBudgetBytes = 65_536 * Megabyte;

    public void Validate()
    {
        if (QueueLimit < 1 || QueueLimit > 100_000) throw new FmnistException($"--queue-limit must be between 1 and 100000, got {QueueLimit}");
        if (DeadlineMs < 1 || DeadlineMs > 600_000) throw new FmnistException($"--deadline-ms must be between 1 and 600000, got {DeadlineMs}");
        if (MaxConnections < 1 || MaxConnections > 1_000_000) throw new FmnistException($"--max-connections must be between 1 and 1000000, got {MaxConnections}");
        if (PixelBudget < 1 || PixelBudget > ServeOptions.MaxFiles * Imaging.PhotoPreprocessor.MaxPixels)
            throw new FmnistException($"--pixel-budget-mp must be above 0 and at most {ServeOptions.MaxFiles * Imaging.PhotoPreprocessor.MaxPixels / 1_000_000}, got {PixelBudget / 1e6:0.######}");
        // Below one whole body, a request the API accepts could never be read: it would be told to retry for ever.
        if (BodyBudgetBytes < ServeOptions.MaxBodyBytes || BodyBudgetBytes > MaxBodyBudgetBytes)
            throw new FmnistException($"--body-budget-mb must be between {ServeOptions.MaxBodyBytes / Megabyte} and {MaxBodyBudgetBytes / Megabyte}, got {BodyBudgetBytes / (double)Megabyte:0.######}");
        if (Decoders < 1 || Decoders > 1024) throw new FmnistException($"--decode-limit must be between 1 and 1024, got {Decoders}");
        if (DecodeWait < TimeSpan.Zero) throw new FmnistException("serve limits: the decoding wait must not be negative");
        // Kestrel checks data rates on a 1 s heartbeat and refuses a grace period that is not above it.
        if (Headers <= TimeSpan.Zero || KeepAlive <= TimeSpan.Zero || Grace <= TimeSpan.FromSeconds(1) || MinBodyBytesPerSecond <= 0)
            throw new FmnistException("serve limits: timeouts and the body rate must be positive, the body-rate grace above 1 s");
    }
}
