using System.Net;
using System.Net.Sockets;

namespace TreePO.Grains.Tests.Support;

/// <summary>
/// A misbehaving weight stream where an engine dials: it accepts and then either never answers, or relays to the real
/// server and cuts the connection after <c>cutAfter</c> bytes of its answer (a connection lost mid-stream).
/// Listens on <paramref name="address"/> (a free port; <see cref="Port"/>).
/// </summary>
public sealed class FaultyStreamPeer : IDisposable
{
    readonly TcpListener listener;
    readonly CancellationTokenSource stop = new();
    readonly List<Socket> held = [];

    FaultyStreamPeer(IPAddress address)
    {
        listener = new TcpListener(address, 0);
        listener.Start();
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>Connections accepted so far.</summary>
    public int Accepted => Volatile.Read(ref accepted);
    int accepted;

    /// <summary>Accepts, keeps the connection open and sends nothing.</summary>
    public static FaultyStreamPeer Silent(IPAddress address)
    {
        var peer = new FaultyStreamPeer(address);
        _ = peer.AcceptAsync(s => { lock (peer.held) peer.held.Add(s); return Task.CompletedTask; });
        return peer;
    }

    /// <summary>Relays each connection to <paramref name="real"/> (resolved when a connection comes) and closes
    /// both after <paramref name="cutAfter"/> bytes from it.</summary>
    public static FaultyStreamPeer Cutting(IPAddress address, Func<IPEndPoint> real, long cutAfter)
    {
        var peer = new FaultyStreamPeer(address);
        _ = peer.AcceptAsync(s => peer.RelayAsync(s, real(), cutAfter));
        return peer;
    }

    async Task AcceptAsync(Func<Socket, Task> handle)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket s;
            try { s = await listener.AcceptSocketAsync(stop.Token); }
            catch (Exception) { return; }
            Interlocked.Increment(ref accepted);
            _ = Task.Run(() => handle(s));
        }
    }

    async Task RelayAsync(Socket client, IPEndPoint real, long cutAfter)
    {
        using var _c = client;
        using var server = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await server.ConnectAsync(real, stop.Token);
            var up = Task.Run(async () =>
            {
                var b = new byte[4096];
                for (int n; (n = await client.ReceiveAsync(b, stop.Token)) > 0;) await server.SendAsync(b.AsMemory(0, n), stop.Token);
            });
            var buffer = new byte[4096];
            for (long sent = 0; sent < cutAfter;)
            {
                int n = await server.ReceiveAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, cutAfter - sent)), stop.Token);
                if (n == 0) break;
                await client.SendAsync(buffer.AsMemory(0, n), stop.Token);
                sent += n;
            }
        }
        catch (Exception) { }
        // Leaving the using blocks closes both connections: the engine sees its stream end early.
    }

    public void Dispose()
    {
        stop.Cancel();
        listener.Stop();
        lock (held) foreach (var s in held) s.Dispose();
    }
}
