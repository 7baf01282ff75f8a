using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Fmnist.Serve;

/// <summary>
/// Stops a listening TCP socket from taking new connections without dropping the ones the kernel already holds.
/// Closing a listener resets every connection in its accept queue: the kernel completed their handshakes, the
/// clients sent their requests, and nobody will ever read them. Here, first a socket filter makes the kernel
/// ignore new SYNs (the clients retry after a second and then find the port closed: refused, never taken), while
/// handshakes already under way still complete; then the accept loop empties the queue, which the kernel reports
/// through TCP_INFO; only then is the listener closed. Linux only; elsewhere <see cref="Close"/> returns false and
/// the caller just stops listening.
/// </summary>
public static class HandshakeGate
{
    private const int SolSocket = 1, SoAttachFilter = 26, IpProtoTcp = 6, TcpInfo = 11;
    private const byte TcpListen = 10;

    /// <summary>Makes the kernel drop SYNs to <paramref name="listener"/> (new connections); true when the filter is on.</summary>
    public static bool Close(Socket listener)
    {
        if (!OperatingSystem.IsLinux()) return false;
        // Classic BPF over the TCP header: load the flags byte; a SYN (0x02) is dropped (return 0), anything
        // else (the ACKs that finish handshakes already under way) passes whole.
        var program = new byte[4 * 8];
        Instruction(program.AsSpan(0), 0x30, 0, 0, 13);            // ldb [13]
        Instruction(program.AsSpan(8), 0x45, 0, 1, 0x02);          // jset #0x02, drop, pass
        Instruction(program.AsSpan(16), 0x06, 0, 0, 0);            // drop: ret #0
        Instruction(program.AsSpan(24), 0x06, 0, 0, uint.MaxValue); // pass: ret #-1
        var pinned = GCHandle.Alloc(program, GCHandleType.Pinned);
        try
        {
            // struct sock_fprog { unsigned short len; struct sock_filter *filter; }: the kernel copies the program.
            Span<byte> fprog = stackalloc byte[2 * IntPtr.Size];
            fprog.Clear();
            BinaryPrimitives.WriteUInt16LittleEndian(fprog, 4);
            MemoryMarshal.Write(fprog[IntPtr.Size..], pinned.AddrOfPinnedObject());
            listener.SetRawSocketOption(SolSocket, SoAttachFilter, fprog);
        }
        catch (SocketException) { return false; }
        catch (ObjectDisposedException) { return false; }
        finally { pinned.Free(); }
        return true;
    }

    /// <summary>Connections the kernel has completed and queued on a listening socket, not yet accepted; null where unknown.</summary>
    public static int? Queued(Socket listener)
    {
        if (!OperatingSystem.IsLinux()) return null;
        Span<byte> info = stackalloc byte[104];
        try
        {
            int n = listener.GetRawSocketOption(IpProtoTcp, TcpInfo, info);
            // struct tcp_info: tcpi_state is byte 0; for a listener tcpi_unacked (offset 24) is the accept queue's length.
            if (n < 28 || info[0] != TcpListen) return null;
            return (int)BinaryPrimitives.ReadUInt32LittleEndian(info[24..]);
        }
        catch (SocketException) { return null; }
        catch (ObjectDisposedException) { return null; }
    }

    private static void Instruction(Span<byte> at, ushort code, byte jt, byte jf, uint k)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(at, code);
        at[2] = jt;
        at[3] = jf;
        BinaryPrimitives.WriteUInt32LittleEndian(at[4..], k);
    }
}
