namespace Fmnist.Serve;

/// <summary>
/// Admission for request bodies: the bytes all requests may hold in memory at once, server-wide. Each request
/// reserves its Content-Length before a byte is read (a body without one reserves as its bytes arrive) and gives
/// the reservation back once its images are decoded. Without it, N concurrent uploads held N x 10 MB before any
/// other limit counted them. A request that does not fit is refused at once: a body already on its way cannot wait.
/// </summary>
internal sealed class BodyBudget(long bytes)
{
    private long _free = bytes;

    public long Total { get; } = bytes;

    /// <summary>Bytes reserved by requests now.</summary>
    public long Reserved => Total - Interlocked.Read(ref _free);

    /// <summary>
    /// An empty reservation, to grow with <see cref="Reservation.Cover"/> (which throws <see cref="BodyBudgetException"/>
    /// when the bytes do not fit) and to dispose when the body is no longer held.
    /// </summary>
    public Reservation Open() => new(this);

    private bool TryTake(long count)
    {
        for (long free = Interlocked.Read(ref _free); ;)
        {
            if (count > free) return false;
            long seen = Interlocked.CompareExchange(ref _free, free - count, free);
            if (seen == free) return true;
            free = seen;
        }
    }

    public sealed class Reservation(BodyBudget budget) : IDisposable
    {
        private long _held;

        /// <summary>Makes the reservation at least <paramref name="total"/> bytes (the body read so far, or announced).</summary>
        public void Cover(long total)
        {
            long more = total - _held;
            if (more <= 0) return;
            if (!budget.TryTake(more)) throw new BodyBudgetException(budget.Total, total);
            _held = total;
        }

        public void Dispose()
        {
            Interlocked.Add(ref budget._free, Interlocked.Exchange(ref _held, 0));
        }
    }
}

/// <summary>The bodies in flight already hold the whole budget: refused with 503, to be retried.</summary>
public sealed class BodyBudgetException(long budget, long body)
    : Exception($"the server is busy: uploads in flight hold its {budget / (1024 * 1024)} MB body budget (--body-budget-mb), "
                + $"no room for {(body < 1024 * 1024 ? $"{body:N0} bytes" : $"{body / (1024.0 * 1024):0.#} MB")} of this request's body; retry shortly");
