namespace Fmnist.Serve;

/// <summary>
/// A read-only view of a request body that refuses to go past <c>limit</c> bytes: the read that would cross it
/// throws the exception <c>refuse</c> makes from the bytes seen so far. It counts the whole body, whatever is
/// made of it (a raw image, multipart files, multipart fields that are skipped). <c>arrived</c>, when given, hears
/// the total after every read, before the bytes are handed on.
/// </summary>
internal sealed class CappedStream(Stream inner, long limit, Func<long, Exception> refuse, Action<long>? arrived = null) : Stream
{
    private long _read;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int Count(int read)
    {
        _read += read;
        if (_read > limit) throw refuse(_read);
        arrived?.Invoke(_read);
        return read;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
