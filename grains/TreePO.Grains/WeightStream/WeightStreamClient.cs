using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using TreePO.Engine.Checkpoint;
using TreePO.Grains.Training;

namespace TreePO.Grains.WeightStream;

/// <summary>The engine's side of <see cref="WeightStreamServer"/>: connects (TLS first with the cluster's certificate
/// when <c>tls</c> is given: the server's must pass the cluster's checks before the token leaves), sends the token,
/// and copies the stream into the sink in order. Any short read, refusal, failed handshake or length other than the
/// manifest's fails the pull (the sink is then never swapped in).</summary>
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

    public static async Task RunAsync(WeightStreamOffer offer, WeightManifest manifest, WeightSink sink, WeightStreamTls? tls, CancellationToken cancellationToken)
    {
        if (offer.Version != manifest.Version) throw new InvalidDataException($"an offer for version {offer.Version}, a manifest for {manifest.Version}");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 4 << 20 };
        Stream? stream = null;
        using var registration = cancellationToken.Register(socket.Dispose);   // unblocks reads on cancellation
        try
        {
            await socket.ConnectAsync(IPAddress.Parse(offer.Host), offer.Port, cancellationToken);
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
            await stream.WriteAsync(offer.Token, cancellationToken);
            await stream.FlushAsync(cancellationToken);
            var head = new byte[9];
            try { await ReceiveExactlyAsync(stream, head.AsMemory(0, 1), cancellationToken); }
            catch (IOException e) when (tls is not null && !cancellationToken.IsCancellationRequested)
            {
                // Under TLS 1.3 the server checks this silo's certificate after the client's side of the handshake is done.
                throw new System.Security.Authentication.AuthenticationException(
                    $"the weight stream at {offer.Host}:{offer.Port} closed the connection before answering: it did not accept this silo's certificate ({e.Message})", e);
            }
            if (head[0] != 0) throw new InvalidOperationException($"the weight stream at {offer.Host}:{offer.Port} refused the token (status {head[0]})");
            await ReceiveExactlyAsync(stream, head.AsMemory(1), cancellationToken);
            long total = BinaryPrimitives.ReadInt64LittleEndian(head.AsSpan(1));
            if (total != manifest.TotalBytes)
                throw new InvalidDataException($"the weight stream of version {manifest.Version} announces {total} bytes, the manifest {manifest.TotalBytes}");
            // Blocking reads straight into the sink's storage (the caller runs this off the grain's scheduler).
            socket.ReceiveTimeout = 60_000;
            byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
            try
            {
                var s = stream;
                for (long offset = 0; offset < total;)
                {
                    int n = sink.Fill(offset, (int)Math.Min(BufferBytes, total - offset), span => s.Read(span), buffer);
                    if (n == 0) throw new IOException($"the weight stream of version {manifest.Version} ended after {offset} of {total} bytes");
                    offset += n;
                }
            }
            finally { ArrayPool<byte>.Shared.Return(buffer); }
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException or IOException or System.Security.Authentication.AuthenticationException
            && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        finally
        {
            if (stream is not null) await stream.DisposeAsync();
            else socket.Dispose();
        }
        sink.EnsureComplete();
    }
}
