using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace Fmnist.Serve;

/// <summary>
/// Kestrel's socket transport with a switch that stops accepting connections while the open ones go on, and a count
/// of the open ones. Kestrel's own stop closes a kept-alive connection that sits between two requests at once, so a
/// request a client sent on it at that moment is lost. With this, a stop can first refuse new connections, let the
/// requests already on their way over open connections arrive and be answered (each answer closing its connection),
/// and only then let Kestrel close the rest. Before the listening sockets close, <see cref="HandshakeGate"/> turns new
/// handshakes away and the connections the kernel already queued are taken, so that closing resets none of them.
/// </summary>
internal sealed class ListenerSwitch(IConnectionListenerFactory sockets) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly List<IConnectionListener> _listeners = [];
    private readonly List<Socket> _sockets = [];
    private int _open;

    /// <summary>For Kestrel's <c>SocketTransportOptions.CreateBoundListenSocket</c>: the default bound socket, remembered.</summary>
    public Socket CreateBoundListenSocket(EndPoint endpoint)
    {
        var socket = Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
        lock (_sockets) _sockets.Add(socket);
        return socket;
    }

    /// <summary>Connections accepted and not yet closed.</summary>
    public int Open => Volatile.Read(ref _open);

    public bool CanBind(EndPoint endpoint) => sockets is not IConnectionListenerFactorySelector s || s.CanBind(endpoint);

    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancel = default)
    {
        var listener = new Counted(await sockets.BindAsync(endpoint, cancel), this);
        lock (_listeners) _listeners.Add(listener);
        return listener;
    }

    /// <summary>
    /// Closes the listening sockets (new connections are refused); accepted ones are left alone. Where the gate works
    /// (Linux), new handshakes are ignored first and the connections already in the kernel's accept queue are taken
    /// (for at most <paramref name="limit"/>), so closing resets none.
    /// </summary>
    /// <returns>Whether the accept queues were emptied before closing (false: no gate here, or the limit ran out).</returns>
    public async Task<bool> StopAcceptingAsync(TimeSpan limit)
    {
        Socket[] sockets;
        lock (_sockets) sockets = [.. _sockets];
        bool drained = sockets.Length > 0 && sockets.All(HandshakeGate.Close);
        if (drained)
        {
            long until = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
            // A handshake the kernel was answering as the gate closed finishes within a round trip; then its
            // connection is queued like the others, and the accept loop takes them all.
            await Task.Delay(20);
            while (sockets.Any(s => HandshakeGate.Queued(s) is not 0))
            {
                if (Stopwatch.GetTimestamp() >= until) { drained = false; break; }
                await Task.Delay(5);
            }
        }
        IConnectionListener[] listeners;
        lock (_listeners) listeners = [.. _listeners];
        foreach (var l in listeners) await l.UnbindAsync();
        return drained;
    }

    private sealed class Counted(IConnectionListener inner, ListenerSwitch owner) : IConnectionListener
    {
        public EndPoint EndPoint => inner.EndPoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancel = default)
        {
            var connection = await inner.AcceptAsync(cancel);
            if (connection is null) return null; // unbound: Kestrel's accept loop ends
            Interlocked.Increment(ref owner._open);
            connection.ConnectionClosed.Register(static o => Interlocked.Decrement(ref ((ListenerSwitch)o!)._open), owner);
            return connection;
        }

        public ValueTask UnbindAsync(CancellationToken cancel = default) => inner.UnbindAsync(cancel);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
