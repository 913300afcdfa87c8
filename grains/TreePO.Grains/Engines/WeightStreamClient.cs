using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using TreePO.Engine.Checkpoint;
using TreePO.Grains.Training;

namespace TreePO.Grains.Engines;

/// <summary>The engine's side of <see cref="WeightStreamServer"/>: connects, sends the token, and copies the stream
/// into the sink in order. Any short read, refusal or length other than the manifest's fails the pull (the sink is
/// then never swapped in).</summary>
public static class WeightStreamClient
{
    const int BufferBytes = 4 << 20;

    /// <summary>Reads exactly <paramref name="buffer"/>'s length; a stream that ends first is an error.</summary>
    internal static async Task ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        for (int got = 0; got < buffer.Length;)
        {
            int n = await socket.ReceiveAsync(buffer[got..], cancellationToken);
            if (n == 0) throw new IOException($"the weight stream closed after {got} of {buffer.Length} bytes");
            got += n;
        }
    }

    public static async Task RunAsync(WeightStreamOffer offer, WeightManifest manifest, WeightSink sink, CancellationToken cancellationToken)
    {
        if (offer.Version != manifest.Version) throw new InvalidDataException($"an offer for version {offer.Version}, a manifest for {manifest.Version}");
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 4 << 20 };
        using var registration = cancellationToken.Register(socket.Dispose);   // unblocks reads on cancellation
        try
        {
            await socket.ConnectAsync(IPAddress.Parse(offer.Host), offer.Port, cancellationToken);
            await socket.SendAsync(offer.Token, cancellationToken);
            var head = new byte[9];
            await ReceiveExactlyAsync(socket, head.AsMemory(0, 1), cancellationToken);
            if (head[0] != 0) throw new InvalidOperationException($"the weight stream at {offer.Host}:{offer.Port} refused the token (status {head[0]})");
            await ReceiveExactlyAsync(socket, head.AsMemory(1), cancellationToken);
            long total = BinaryPrimitives.ReadInt64LittleEndian(head.AsSpan(1));
            if (total != manifest.TotalBytes)
                throw new InvalidDataException($"the weight stream of version {manifest.Version} announces {total} bytes, the manifest {manifest.TotalBytes}");
            // Blocking receives straight into the sink's storage (the caller runs this off the grain's scheduler).
            socket.ReceiveTimeout = 60_000;
            byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
            try
            {
                for (long offset = 0; offset < total;)
                {
                    int n = sink.Fill(offset, (int)Math.Min(BufferBytes, total - offset), span => socket.Receive(span), buffer);
                    if (n == 0) throw new IOException($"the weight stream of version {manifest.Version} ended after {offset} of {total} bytes");
                    offset += n;
                }
            }
            finally { ArrayPool<byte>.Shared.Return(buffer); }
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        sink.EnsureComplete();
    }
}
