using System.Net;
using System.Net.Sockets;
using System.Text;
using Fmnist.Serve;

namespace Fmnist.Tests;

/// <summary>
/// The kernel-level half of a stop that loses nothing: with the gate closed, a new connection is not taken, while
/// those the kernel already queued are accepted and answered, and the queue length is read exactly.
/// </summary>
public sealed class HandshakeGateTests
{
    [Fact]
    public async Task Closed_gate_turns_new_handshakes_away_and_keeps_the_queued_connections()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(16);
        var endpoint = (IPEndPoint)listener.LocalEndPoint!;
        Assert.Equal(0, HandshakeGate.Queued(listener));

        var queued = new List<Socket>();
        for (int i = 0; i < 3; i++)
        {
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(endpoint);
            await client.SendAsync(Encoding.ASCII.GetBytes($"request {i}"));
            queued.Add(client);
        }
        await WaitFor(() => HandshakeGate.Queued(listener) == 3);

        Assert.True(HandshakeGate.Close(listener));
        // A new client's SYN is ignored: its connect does not complete (it would retry after a second).
        using var late = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(400));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await late.ConnectAsync(endpoint, wait.Token));
        Assert.Equal(3, HandshakeGate.Queued(listener));

        // The queued ones are still taken, read and answered.
        for (int i = 0; i < 3; i++)
        {
            using var accepted = await listener.AcceptAsync();
            var buffer = new byte[32];
            int n = await accepted.ReceiveAsync(buffer);
            Assert.StartsWith("request ", Encoding.ASCII.GetString(buffer, 0, n));
            await accepted.SendAsync(Encoding.ASCII.GetBytes("answer"));
        }
        Assert.Equal(0, HandshakeGate.Queued(listener));
        foreach (var client in queued)
        {
            var buffer = new byte[16];
            int n = await client.ReceiveAsync(buffer);
            Assert.Equal("answer", Encoding.ASCII.GetString(buffer, 0, n));
            client.Dispose();
        }
    }

    [Fact]
    public void A_socket_that_is_not_listening_has_no_queue()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Assert.Null(HandshakeGate.Queued(socket));
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition());
    }
}
