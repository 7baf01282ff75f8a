namespace Fmnist.Serve;

/// <summary>
/// Admission for decoding: at most <c>slots</c> requests turn their uploads into pixels at once, the rest wait a
/// short while and are then refused with 503. Without it every request in flight decodes at the same time, and six
/// uploads of 40 MP photos took gigabytes and a minute, while none of them could be answered in time.
/// </summary>
internal sealed class DecodeGate(int slots, TimeSpan wait)
{
    private readonly SemaphoreSlim _free = new(slots, slots);

    /// <summary>Requests decoding now.</summary>
    public int Decoding => slots - _free.CurrentCount;

    /// <summary>A slot, to dispose when decoding ends; <see cref="DecodersBusyException"/> when none frees up in time.</summary>
    public async Task<IDisposable> EnterAsync(CancellationToken cancel)
    {
        if (!await _free.WaitAsync(wait, cancel)) throw new DecodersBusyException(slots, wait);
        return new Slot(_free);
    }

    private sealed class Slot(SemaphoreSlim free) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) free.Release();
        }
    }
}

/// <summary>Every decoding slot stayed taken for the whole wait: the request is refused rather than queued without end.</summary>
public sealed class DecodersBusyException(int slots, TimeSpan wait)
    : Exception($"the server is busy: all {slots} decoding slots (--decode-limit) stayed taken for {wait.TotalSeconds:0.###} s; retry shortly");
