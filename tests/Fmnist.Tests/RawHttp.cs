using System.Net.Sockets;
using System.Text;

namespace Fmnist.Tests;

/// <summary>
/// HTTP/1.1 over a bare socket, for what HttpClient cannot do: trickle headers or a body byte by byte, and know
/// that a request is entirely on the wire before something else happens.
/// </summary>
public sealed class RawHttp : IDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;

    private RawHttp(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<RawHttp> ConnectAsync(Uri server)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(server.Host, server.Port);
        return new RawHttp(tcp);
    }

    /// <summary>The bytes of a request that closes its connection after the answer.</summary>
    public static byte[] Request(string method, string path, string? contentType = null, byte[]? body = null)
    {
        var head = new StringBuilder($"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        if (contentType is not null) head.Append($"Content-Type: {contentType}\r\n");
        if (body is not null) head.Append($"Content-Length: {body.Length}\r\n");
        head.Append("\r\n");
        return [.. Encoding.ASCII.GetBytes(head.ToString()), .. body ?? []];
    }

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>Sends <paramref name="bytes"/> a chunk at a time with a pause between, until done or <paramref name="stop"/> fires or the server hangs up.</summary>
    public async Task<int> TrickleAsync(ReadOnlyMemory<byte> bytes, int chunk, TimeSpan gap, CancellationToken stop = default)
    {
        int sent = 0;
        try
        {
            while (sent < bytes.Length && !stop.IsCancellationRequested)
            {
                int n = Math.Min(chunk, bytes.Length - sent);
                await SendAsync(bytes.Slice(sent, n));
                sent += n;
                if (sent < bytes.Length) await Task.Delay(gap, stop);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The server closed the connection (what a slow client should get), or the caller stopped us.
        }
        return sent;
    }

    /// <summary>Everything the server sends until it closes the connection ("" when it closed or reset without a word).</summary>
    public async Task<string> ReadToEndAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var received = new MemoryStream();
        var buffer = new byte[8192];
        try
        {
            int read;
            while ((read = await _stream.ReadAsync(buffer, cancel.Token)) > 0) received.Write(buffer, 0, read);
        }
        catch (IOException)
        {
            // A reset after (or instead of) an answer: keep what came.
        }
        return Encoding.UTF8.GetString(received.ToArray());
    }

    /// <summary>The status code of a raw response, or null when there is none.</summary>
    public static int? Status(string response) =>
        response.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && int.TryParse(response.AsSpan(9, 3), out int code) ? code : null;

    public void Dispose()
    {
        _stream.Dispose();
        _tcp.Dispose();
    }
}
