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

    /// <summary>The bytes of a request; unless <paramref name="keepAlive"/>, it closes its connection after the answer.</summary>
    public static byte[] Request(string method, string path, string? contentType = null, byte[]? body = null, bool keepAlive = false)
    {
        var head = new StringBuilder($"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        if (!keepAlive) head.Append("Connection: close\r\n");
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

    /// <summary>One response on a connection that stays open: its head (status line and headers) and its body.</summary>
    public async Task<(string Head, string Body)> ReadResponseAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var head = await ReadLinesAsync(untilBlank: true, cancel.Token);
        var headers = head.Split("\r\n").Select(l => l.Split(':', 2)).Where(p => p.Length == 2)
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var body = new MemoryStream();
        if (headers.TryGetValue("Content-Length", out var length))
            body.Write(await ReadBytesAsync(int.Parse(length, System.Globalization.CultureInfo.InvariantCulture), cancel.Token));
        else if (headers.GetValueOrDefault("Transfer-Encoding") == "chunked")
        {
            // Each chunk: its size in hex on a line, the bytes, CRLF; a chunk of size 0 and a blank line end the body.
            while (Convert.ToInt32((await ReadLinesAsync(untilBlank: false, cancel.Token)).Trim(), 16) is var size && size > 0)
            {
                body.Write(await ReadBytesAsync(size, cancel.Token));
                await ReadBytesAsync(2, cancel.Token);
            }
            await ReadBytesAsync(2, cancel.Token);
        }
        return (head, Encoding.UTF8.GetString(body.ToArray()));
    }

    private async Task<string> ReadLinesAsync(bool untilBlank, CancellationToken cancel)
    {
        var received = new List<byte>();
        var one = new byte[1];
        string end = untilBlank ? "\r\n\r\n" : "\r\n";
        while (!Encoding.ASCII.GetString([.. received]).EndsWith(end, StringComparison.Ordinal))
        {
            if (await _stream.ReadAsync(one, cancel) == 0) throw new IOException("the server closed the connection mid-response");
            received.Add(one[0]);
        }
        return Encoding.ASCII.GetString([.. received]);
    }

    private async Task<byte[]> ReadBytesAsync(int count, CancellationToken cancel)
    {
        var bytes = new byte[count];
        await _stream.ReadExactlyAsync(bytes, cancel);
        return bytes;
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
