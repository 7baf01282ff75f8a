using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Fmnist.Serve;

/// <summary>
/// Kestrel's socket transport with a switch that stops accepting connections while the open ones go on, and a count
/// of the open ones. Kestrel's own stop closes a kept-alive connection that sits between two requests at once, so a
/// request a client sent on it at that moment is lost. With this, a stop can first refuse new connections, let the
/// requests already on their way over open connections arrive and be answered (each answer closing its connection),
/// and only then let Kestrel close the rest.
/// </summary>
internal sealed class ListenerSwitch(IConnectionListenerFactory sockets) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly List<IConnectionListener> _listeners = [];
    private int _open;

    /// <summary>Connections accepted and not yet closed.</summary>
    public int Open => Volatile.Read(ref _open);

    public bool CanBind(EndPoint endpoint) => sockets is not IConnectionListenerFactorySelector s || s.CanBind(endpoint);

    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancel = default)
    {
        var listener = new Counted(await sockets.BindAsync(endpoint, cancel), this);
        lock (_listeners) _listeners.Add(listener);
        return listener;
    }

    /// <summary>Closes the listening sockets (new connections are refused); accepted ones are left alone.</summary>
    public async Task StopAcceptingAsync()
    {
        IConnectionListener[] listeners;
        lock (_listeners) listeners = [.. _listeners];
        foreach (var l in listeners) await l.UnbindAsync();
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
