using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using TreePO.Engine.Checkpoint;

namespace TreePO.Grains.WeightStream;

/// <summary>
/// Serves published weight snapshots as TCP byte streams, so multi-GB weights skip Orleans' per-message copies
/// (as RL systems use NCCL beside their control plane). Orleans carries the handshake: the trainer grain hands an
/// engine a one-time token for one snapshot (<see cref="Offer"/>); the engine connects to the silo's own listen
/// address, sends the token, and reads a status byte, the length and the safetensors bytes straight from the
/// snapshot's chunks. A token works once and expires; a wrong one gets status 1 and a closed connection. With
/// <paramref name="tls"/> (the cluster runs TLS) every connection is TLS first, with the cluster's certificates: a
/// peer without the right one is dropped in the handshake, before its token is read. Off (no listener, no offers)
/// when <paramref name="enabled"/> is false, or once binding failed: engines pull Orleans chunks then.
/// Listens on the silo's listen address (<paramref name="listen"/>, possibly 0.0.0.0) and tells engines to dial the
/// address the silo advertises (<paramref name="advertised"/>), as Orleans does for its own port; on
/// <paramref name="port"/>, or a free one when 0.
/// </summary>
public sealed class WeightStreamServer(
    IPAddress listen, IPAddress advertised, bool enabled, ILogger<WeightStreamServer> log, int port = 0, WeightStreamTls? tls = null) : IDisposable
{
    public const int TokenBytes = 32;
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromMinutes(5);

    readonly ConcurrentDictionary<string, (WeightSnapshot Snapshot, DateTime Expires)> offers = new();
    readonly CancellationTokenSource stop = new();
    readonly object gate = new();
    TcpListener? listener;

    public bool Enabled => enabled;

    /// <summary>The cluster's TLS material when the stream runs under TLS; engines on this silo dial with it too.</summary>
    public WeightStreamTls? Tls => tls;
    bool failed;

    /// <summary>The bound endpoint once the first offer started the listener.</summary>
    public IPEndPoint? Endpoint => listener?.LocalEndpoint as IPEndPoint;

    /// <summary>The snapshot behind a token this server issued, taken as a socket would take it (once, unexpired): an
    /// engine in the trainer's own silo copies from it directly. Null for a token of another silo's server.</summary>
    public WeightSnapshot? RedeemLocal(byte[] token) => Take(token);

    /// <summary>The snapshot of an unexpired offer, removed so that its token works once; null otherwise.</summary>
    WeightSnapshot? Take(byte[] token) =>
        offers.TryRemove(Convert.ToHexString(token), out var offer) && offer.Expires >= DateTime.UtcNow ? offer.Snapshot : null;

    /// <summary>A one-time token for <paramref name="snapshot"/> and where to use it; null when the server is off.</summary>
    public (IPEndPoint Endpoint, byte[] Token)? Offer(WeightSnapshot snapshot)
    {
        if (!enabled || failed) return null;
        IPEndPoint endpoint;
        try { endpoint = Start(); }
        catch (SocketException e)
        {
            failed = true;
            log.LogWarning("weight stream server cannot listen on {Address}: {Error}; engines pull Orleans chunks", listen, e.Message);
            return null;
        }
        foreach (var (key, offer) in offers)
            if (offer.Expires < DateTime.UtcNow) offers.TryRemove(key, out _);
        byte[] token = RandomNumberGenerator.GetBytes(TokenBytes);
        offers[Convert.ToHexString(token)] = (snapshot, DateTime.UtcNow + TokenLifetime);
        return (endpoint, token);
    }

    IPEndPoint Start()
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(stop.IsCancellationRequested, this);
            if (listener is null)
            {
                var l = new TcpListener(listen, port);
                l.Start();
                listener = l;
                _ = Task.Run(AcceptAsync);
                log.LogInformation("weight stream server listening on {Endpoint}", l.LocalEndpoint);
            }
            return new IPEndPoint(advertised, ((IPEndPoint)listener.LocalEndpoint).Port);
        }
    }

    async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await listener!.AcceptSocketAsync(stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            _ = Task.Run(() => ServeAsync(socket));
        }
    }

    async Task ServeAsync(Socket socket)
    {
        var peer = socket.RemoteEndPoint;
        Stream? stream = null;
        try
        {
            socket.NoDelay = true;
            socket.SendBufferSize = 4 << 20;
            stream = new NetworkStream(socket, ownsSocket: true);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));   // the handshake and the token must come promptly
            if (tls is not null)
            {
                try { stream = await tls.AcceptAsync(stream, timeout.Token); }
                catch (System.Security.Authentication.AuthenticationException e)
                {
                    log.LogWarning("weight stream: refused a connection from {Peer} in the TLS handshake: {Error}", peer, e.GetBaseException().Message);
                    return;
                }
            }
            var token = new byte[TokenBytes];
            await WeightStreamClient.ReceiveExactlyAsync(stream, token, timeout.Token);
            if (Take(token) is not { } snapshot)
            {
                await stream.WriteAsync(new byte[] { 1 }, stop.Token);
                await stream.FlushAsync(stop.Token);
                log.LogWarning("weight stream: refused a connection from {Peer} with an unknown or expired token", peer);
                return;
            }
            var head = new byte[9];
            BinaryPrimitives.WriteInt64LittleEndian(head.AsSpan(1), snapshot.TotalBytes);
            await stream.WriteAsync(head, stop.Token);
            for (int i = 0; i < snapshot.ChunkCount; i++)
                await stream.WriteAsync(snapshot.Chunk(i), stop.Token);
            await stream.FlushAsync(stop.Token);
            if (stream is System.Net.Security.SslStream ssl) await ssl.ShutdownAsync();   // close_notify: the end is the end
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            log.LogWarning("weight stream to {Peer} ended early: {Error}", peer, e.Message);
        }
        finally
        {
            if (stream is not null) await stream.DisposeAsync();
            else socket.Dispose();
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            stop.Cancel();
            listener?.Stop();
        }
    }
}
