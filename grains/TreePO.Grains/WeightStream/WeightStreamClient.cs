using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using TreePO.Engine.Checkpoint;
using TreePO.Grains.Training;

namespace TreePO.Grains.WeightStream;

/// <summary>The engine's side of <see cref="WeightStreamServer"/>: connects (TLS first with the cluster's certificate
/// when <c>tls</c> is given: the server's must pass the cluster's checks before the token leaves), sends the token,
/// and copies the stream into the sink in order. Any short read, refusal, failed handshake or length other than the
/// manifest's, any chunk whose SHA-256 differs from the manifest's, or a peer silent past the stall timeout fails the
/// pull (the sink is then never swapped in; the engine then pulls Orleans chunks instead).</summary>
public static class WeightStreamClient
{
    const int BufferBytes = 4 << 20;

    /// <summary>Reads exactly <paramref name="buffer"/>'s length; a stream that ends first is an error.</summary>
    internal static async Task ReceiveExactlyAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        for (int got = 0; got < buffer.Length;)
        {
            int n = await stream.ReadAsync(buffer[got..], cancellationToken);
            if (n == 0) throw new IOException($"the weight stream closed after {got} of {buffer.Length} bytes");
            got += n;
        }
    }

    /// <summary>Pulls <paramref name="offer"/> into <paramref name="sink"/>. Every step must progress within
    /// <paramref name="stallTimeout"/> (default <see cref="WeightStreamServer.DefaultStallTimeout"/>): the connect, the
    /// token, the server's answer and each read of the body; a peer that goes silent fails the pull with a
    /// <see cref="TimeoutException"/> or <see cref="IOException"/> instead of holding the engine's sync.</summary>
    public static async Task RunAsync(WeightStreamOffer offer, WeightManifest manifest, WeightSink sink, WeightStreamTls? tls, CancellationToken cancellationToken,
        TimeSpan? stallTimeout = null)
    {
        if (offer.Version != manifest.Version) throw new InvalidDataException($"an offer for version {offer.Version}, a manifest for {manifest.Version}");
        if (manifest.ChunkBytes < 1) throw new InvalidDataException($"a manifest of version {manifest.Version} with chunks of {manifest.ChunkBytes} bytes");
        var stall = stallTimeout ?? WeightStreamServer.DefaultStallTimeout;
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 4 << 20 };
        Stream? stream = null;
        using var registration = cancellationToken.Register(socket.Dispose);   // unblocks reads on cancellation
        using var answer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        answer.CancelAfter(stall);   // connect, token and the server's first bytes
        try
        {
            await socket.ConnectAsync(IPAddress.Parse(offer.Host), offer.Port, answer.Token);
            socket.SendTimeout = (int)stall.TotalMilliseconds;
            socket.ReceiveTimeout = (int)stall.TotalMilliseconds;
            stream = new NetworkStream(socket, ownsSocket: true);
            if (tls is not null)
            {
                using var handshake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                handshake.CancelAfter(WeightStreamTls.HandshakeTimeout);
                try { stream = await tls.ConnectAsync(stream, offer.Host, offer.Port, handshake.Token); }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new System.Security.Authentication.AuthenticationException(
                        $"the weight stream at {offer.Host}:{offer.Port} did not finish the TLS handshake within {WeightStreamTls.HandshakeTimeout.TotalSeconds:F0} s");
                }
            }
            answer.CancelAfter(stall);
            await stream.WriteAsync(offer.Token, answer.Token);
            await stream.FlushAsync(answer.Token);
            var head = new byte[9];
            try { await ReceiveExactlyAsync(stream, head.AsMemory(0, 1), answer.Token); }
            catch (IOException e) when (tls is not null && !cancellationToken.IsCancellationRequested)
            {
                // Under TLS 1.3 the server checks this silo's certificate after the client's side of the handshake is done.
                throw new System.Security.Authentication.AuthenticationException(
                    $"the weight stream at {offer.Host}:{offer.Port} closed the connection before answering: it did not accept this silo's certificate ({e.Message})", e);
            }
            if (head[0] != 0) throw new InvalidOperationException($"the weight stream at {offer.Host}:{offer.Port} refused the token (status {head[0]})");
            await ReceiveExactlyAsync(stream, head.AsMemory(1), answer.Token);
            long total = BinaryPrimitives.ReadInt64LittleEndian(head.AsSpan(1));
            if (total != manifest.TotalBytes)
                throw new InvalidDataException($"the weight stream of version {manifest.Version} announces {total} bytes, the manifest {manifest.TotalBytes}");
            // Blocking reads straight into the sink's storage (the caller runs this off the grain's scheduler), each
            // within the socket's receive timeout; every chunk's bytes hashed on the way and checked at its end.
            byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var hash = new byte[WeightDigest.HashBytes];
            try
            {
                var s = stream;
                for (long offset = 0; offset < total;)
                {
                    long chunkEnd = Math.Min(total, (offset / manifest.ChunkBytes + 1) * manifest.ChunkBytes);
                    int n = sink.Fill(offset, (int)Math.Min(BufferBytes, chunkEnd - offset), span =>
                    {
                        int got = s.Read(span);
                        sha.AppendData(span[..got]);
                        return got;
                    }, buffer);
                    if (n == 0) throw new IOException($"the weight stream of version {manifest.Version} ended after {offset} of {total} bytes");
                    offset += n;
                    if (offset == chunkEnd)
                    {
                        sha.GetHashAndReset(hash);
                        WeightDigest.Check(manifest, (int)((offset - 1) / manifest.ChunkBytes), hash);
                    }
                }
            }
            finally { ArrayPool<byte>.Shared.Return(buffer); }
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException or IOException or System.Security.Authentication.AuthenticationException
            or OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (OperationCanceledException e) when (answer.IsCancellationRequested)
        {
            throw new TimeoutException($"the weight stream at {offer.Host}:{offer.Port} gave no answer within {stall.TotalSeconds:F0} s", e);
        }
        finally
        {
            if (stream is not null) await stream.DisposeAsync();
            else socket.Dispose();
        }
        sink.EnsureComplete();
    }
}
