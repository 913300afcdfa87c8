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
/// Hardened so that no peer can wedge a sync: a failed accept is logged and the loop keeps accepting; at most
/// <see cref="MaxUnauthenticated"/> connections may be waiting to present a token (more are closed at once); every
/// write must progress within <paramref name="stallTimeout"/> (default <see cref="DefaultStallTimeout"/>), which
/// engines of this silo also use as their read timeout (<see cref="StallTimeout"/>). The same server serves the
/// <see cref="WeightRelay"/>s of this silo's engines to their children in a fan-out tree (<see cref="OfferRelay"/>),
/// and sends at most <paramref name="pace"/>'s rate when given (Cluster:WeightStreamMBps).
/// </summary>
public sealed class WeightStreamServer(
    IPAddress listen, IPAddress advertised, bool enabled, ILogger<WeightStreamServer> log, int port = 0, WeightStreamTls? tls = null,
    TimeSpan? stallTimeout = null, EgressPace? pace = null) : IDisposable
{
    /// <summary>The most bytes one write carries when <see cref="Pace"/> caps the sends.</summary>
    const int PacedWriteBytes = 4 << 20;

    /// <summary>The cap on what this server sends (Cluster:WeightStreamMBps), or null.</summary>
    public EgressPace? Pace => pace;

    public const int TokenBytes = 32;
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan DefaultStallTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Connections that have not yet presented a valid token, at most (a trainer serves one per engine).</summary>
    public const int MaxUnauthenticated = 64;

    /// <summary>How long a read or write of the stream may make no progress, on either side.</summary>
    public TimeSpan StallTimeout { get; } = stallTimeout ?? DefaultStallTimeout;

    /// <summary>Accepts that failed and were retried (a listener fault does not stop the server).</summary>
    public int AcceptFaults => Volatile.Read(ref acceptFaults);

    /// <summary>Connections open now that have not yet presented a token.</summary>
    public int WaitingForToken => Volatile.Read(ref unauthenticated);

    /// <summary>Connections closed unread because <see cref="MaxUnauthenticated"/> were already waiting.</summary>
    public int TurnedAway => Volatile.Read(ref turnedAway);

    /// <summary>How one connection is accepted; tests replace it to make the listener fail.</summary>
    internal Func<TcpListener, CancellationToken, ValueTask<Socket>> AcceptOne { get; set; } = (l, ct) => l.AcceptSocketAsync(ct);

    int unauthenticated, acceptFaults, turnedAway;

    /// <summary>Weight bytes written to engines' connections so far (snapshots and relays): the silo's weight egress.</summary>
    public long BytesSent => Interlocked.Read(ref bytesSent);

    long bytesSent;

    // A token's source: a trainer's WeightSnapshot, or a WeightRelay an engine of this silo re-serves.
    readonly ConcurrentDictionary<string, (object Source, DateTime Expires)> offers = new();
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
    public WeightSnapshot? RedeemLocal(byte[] token) => Take(token) as WeightSnapshot;

    /// <summary>The source of an unexpired offer, removed so that its token works once; null otherwise.</summary>
    object? Take(byte[] token) =>
        offers.TryRemove(Convert.ToHexString(token), out var offer) && offer.Expires >= DateTime.UtcNow ? offer.Source : null;

    /// <summary>A one-time token for <paramref name="snapshot"/> and where to use it; null when the server is off.</summary>
    public (IPEndPoint Endpoint, byte[] Token)? Offer(WeightSnapshot snapshot) => OfferSource(snapshot);

    /// <summary>A one-time token for a child engine to read <paramref name="relay"/> from this silo while an engine
    /// here receives it; null when the server is off.</summary>
    public (IPEndPoint Endpoint, byte[] Token)? OfferRelay(WeightRelay relay) => OfferSource(relay);

    (IPEndPoint Endpoint, byte[] Token)? OfferSource(object source)
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
        offers[Convert.ToHexString(token)] = (source, DateTime.UtcNow + TokenLifetime);
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
        int faultsInARow = 0;
        while (!stop.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await AcceptOne(listener!, stop.Token); }
            catch (Exception) when (stop.IsCancellationRequested) { return; }
            catch (SocketException e)
            {
                // One failed accept (a peer that reset before it was accepted, descriptors short for a moment) must
                // not end the server while trainers keep handing out offers for it: log, back off briefly, go on.
                Interlocked.Increment(ref acceptFaults);
                faultsInARow++;
                log.LogWarning("weight stream: accepting a connection failed ({Error}); still listening", e.Message);
                try { await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 10 * faultsInARow)), stop.Token); }
                catch (OperationCanceledException) { return; }
                continue;
            }
            catch (ObjectDisposedException)
            {
                failed = true;   // the listener is gone without a stop: offer nothing more; engines pull chunks
                log.LogWarning("weight stream: the listener closed; engines pull Orleans chunks from now on");
                return;
            }
            faultsInARow = 0;
            if (Interlocked.Increment(ref unauthenticated) > MaxUnauthenticated)
            {
                Interlocked.Decrement(ref unauthenticated);
                Interlocked.Increment(ref turnedAway);
                log.LogWarning("weight stream: {Max} connections already wait to present a token; closed one from {Peer}",
                    MaxUnauthenticated, socket.RemoteEndPoint);
                socket.Dispose();
                continue;
            }
            _ = Task.Run(() => ServeAsync(socket));
        }
    }

    async Task ServeAsync(Socket socket)
    {
        var peer = socket.RemoteEndPoint;
        Stream? stream = null;
        bool counted = true;   // among the unauthenticated until its token is taken
        void Authenticated()
        {
            if (counted) Interlocked.Decrement(ref unauthenticated);
            counted = false;
        }
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
            var source = Take(token);
            Authenticated();
            if (source is WeightRelay relay)
            {
                await relay.ServeAsync(stream, n => Interlocked.Add(ref bytesSent, n), pace, stop.Token);
                await Finish(stream, socket);
                return;
            }
            var snapshot = source as WeightSnapshot;
            // Every write must progress within the stall timeout: a peer that stops reading frees this task.
            using var write = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
            write.CancelAfter(StallTimeout);
            if (snapshot is null)
            {
                await stream.WriteAsync(new byte[] { 1 }, write.Token);
                await stream.FlushAsync(write.Token);
                log.LogWarning("weight stream: refused a connection from {Peer} with an unknown or expired token", peer);
                return;
            }
            var head = new byte[9];
            BinaryPrimitives.WriteInt64LittleEndian(head.AsSpan(1), snapshot.TotalBytes);
            await stream.WriteAsync(head, write.Token);
            for (int i = 0; i < snapshot.ChunkCount; i++)
            {
                var chunk = snapshot.Chunk(i);
                for (int at = 0; at < chunk.Length; at += pace is null ? chunk.Length : PacedWriteBytes)
                {
                    int n = pace is null ? chunk.Length : Math.Min(PacedWriteBytes, chunk.Length - at);
                    if (pace is not null) await pace.WaitAsync(n, stop.Token);
                    write.CancelAfter(StallTimeout);
                    await stream.WriteAsync(chunk.AsMemory(at, n), write.Token);
                    Interlocked.Add(ref bytesSent, n);
                }
            }
            write.CancelAfter(StallTimeout);
            await stream.FlushAsync(write.Token);
            await Finish(stream, socket);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            log.LogWarning("weight stream to {Peer} ended early: {Error}", peer, e.Message);
        }
        finally
        {
            Authenticated();
            if (stream is not null) await stream.DisposeAsync();
            else socket.Dispose();
        }
    }

    static async Task Finish(Stream stream, Socket socket)
    {
        if (stream is System.Net.Security.SslStream ssl) await ssl.ShutdownAsync();   // close_notify: the end is the end
        socket.Shutdown(SocketShutdown.Send);
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
