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
public sealed record ServeLimits(
    int QueueLimit = ServeLimits.DefaultQueueLimit,
    int DeadlineMs = ServeLimits.DefaultDeadlineMs,
    int MaxConnections = ServeLimits.DefaultMaxConnections,
    TimeSpan? HeadersTimeout = null,
    TimeSpan? KeepAliveTimeout = null,
    double MinBodyBytesPerSecond = ServeLimits.DefaultMinBodyBytesPerSecond,
    TimeSpan? BodyRateGrace = null)
{
    public const int DefaultQueueLimit = 128;
    public const int DefaultDeadlineMs = 10_000;
    public const int DefaultMaxConnections = 512;
    public const double DefaultMinBodyBytesPerSecond = 240; // Kestrel's own default: a slow phone link still passes
    public static readonly TimeSpan DefaultHeadersTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan DefaultKeepAliveTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultBodyRateGrace = TimeSpan.FromSeconds(5);

    /// <summary>What a refused client is told to wait before trying again (HTTP allows whole seconds only).</summary>
    public const int RetryAfterSeconds = 1;

    public TimeSpan Headers => HeadersTimeout ?? DefaultHeadersTimeout;
    public TimeSpan KeepAlive => KeepAliveTimeout ?? DefaultKeepAliveTimeout;
    public TimeSpan Grace => BodyRateGrace ?? DefaultBodyRateGrace;
    public TimeSpan Deadline => TimeSpan.FromMilliseconds(DeadlineMs);

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

    public void Validate()
    {
        if (QueueLimit < 1 || QueueLimit > 100_000) throw new FmnistException($"--queue-limit must be between 1 and 100000, got {QueueLimit}");
        if (DeadlineMs < 1 || DeadlineMs > 600_000) throw new FmnistException($"--deadline-ms must be between 1 and 600000, got {DeadlineMs}");
        if (MaxConnections < 1 || MaxConnections > 1_000_000) throw new FmnistException($"--max-connections must be between 1 and 1000000, got {MaxConnections}");
        // Kestrel checks data rates on a 1 s heartbeat and refuses a grace period that is not above it.
        if (Headers <= TimeSpan.Zero || KeepAlive <= TimeSpan.Zero || Grace <= TimeSpan.FromSeconds(1) || MinBodyBytesPerSecond <= 0)
            throw new FmnistException("serve limits: timeouts and the body rate must be positive, the body-rate grace above 1 s");
    }
}
