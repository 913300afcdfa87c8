using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using TreePO.Grains.Tests.Support;
using TreePO.Grains.Training;
using TreePO.Grains.WeightStream;
using TreePO.Testing;

namespace TreePO.Grains.Tests.Training;

/// <summary>The weight stream under faults (no cluster): a failing listener, a silent peer, a connection cut
/// mid-stream, a flood of connections that never present a token, bytes that do not match the trainer's hash.</summary>
public sealed class WeightStreamFaultTests
{
    static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    internal static WeightSnapshot Snapshot(int version = 0)
    {
        TorchRuntime.EnsureLoaded();
        using var model = Qwen2Model.Random(Qwen2Config.Tiny(), 1);
        return WeightSnapshot.Capture(version, model.state_dict(), chunkBytes: 4096);
    }

    internal static WeightManifest Manifest(WeightSnapshot s) =>
        new(s.Version, s.TotalBytes, s.ChunkBytes, s.ChunkCount, s.Header, s.CaptureSeconds, WeightDigest.Of(s));

    static WeightStreamOffer OfferOf(WeightStreamServer server, WeightSnapshot snap)
    {
        var (endpoint, token) = server.Offer(snap)!.Value;
        return new WeightStreamOffer(snap.Version, endpoint.Address.ToString(), endpoint.Port, token);
    }

    static WeightStreamServer Server(TimeSpan? stall = null) =>
        new(IPAddress.Loopback, IPAddress.Loopback, true, NullLogger<WeightStreamServer>.Instance, stallTimeout: stall);

    [Fact]
    public async Task A_failing_accept_is_survived_and_the_server_keeps_serving()
    {
        var snap = Snapshot();
        using var server = Server();
        int faults = 0;
        server.AcceptOne = (listener, ct) => Interlocked.Increment(ref faults) <= 3
            ? ValueTask.FromException<Socket>(new SocketException((int)SocketError.TooManyOpenSockets))
            : listener.AcceptSocketAsync(ct);
        var offer = OfferOf(server, snap);
        using var sink = new BufferedWeightSink(0, snap.Header, snap.TotalBytes);
        await WeightStreamClient.RunAsync(offer, Manifest(snap), sink, null, CancellationToken.None).WaitAsync(Limit);
        Assert.Equal(snap.ToArray(), sink.OpenRead().ToArray());
        Assert.Equal(3, server.AcceptFaults);
    }

    [Fact]
    public async Task A_peer_that_never_answers_fails_the_pull_within_the_stall_timeout()
    {
        var snap = Snapshot();
        using var silent = FaultyStreamPeer.Silent(IPAddress.Loopback);
        var offer = new WeightStreamOffer(0, "127.0.0.1", silent.Port, new byte[WeightStreamServer.TokenBytes]);
        using var sink = new BufferedWeightSink(0, snap.Header, snap.TotalBytes);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<TimeoutException>(() =>
            WeightStreamClient.RunAsync(offer, Manifest(snap), sink, null, CancellationToken.None, TimeSpan.FromSeconds(1)).WaitAsync(Limit));
        Assert.Contains("gave no answer within 1 s", e.Message);
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.5, 10);
        Assert.Equal(0, sink.ReceivedBytes);
    }

    [Fact]
    public async Task A_connection_cut_mid_stream_fails_the_pull_and_the_sink_is_never_complete()
    {
        var snap = Snapshot();
        using var server = Server();
        var offer = OfferOf(server, snap);
        var real = server.Endpoint!;
        using var cutter = FaultyStreamPeer.Cutting(IPAddress.Loopback, () => real, cutAfter: 9 + snap.TotalBytes / 2);
        using var sink = new BufferedWeightSink(0, snap.Header, snap.TotalBytes);
        await Assert.ThrowsAnyAsync<IOException>(() =>
            WeightStreamClient.RunAsync(offer with { Port = cutter.Port }, Manifest(snap), sink, null, CancellationToken.None).WaitAsync(Limit));
        Assert.False(sink.IsComplete);
        Assert.True(sink.ReceivedBytes > 0);
    }

    [Fact]
    public async Task Connections_that_never_present_a_token_are_capped_and_do_not_block_later_pulls()
    {
        var snap = Snapshot();
        using var server = Server();
        var offer = OfferOf(server, snap);
        var idle = new List<Socket>();
        try
        {
            for (int i = 0; i < WeightStreamServer.MaxUnauthenticated; i++)
            {
                var s = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await s.ConnectAsync(server.Endpoint!);
                idle.Add(s);
            }
            await Eventually.TrueAsync(() => server.WaitingForToken == WeightStreamServer.MaxUnauthenticated, Limit, "all idle connections accepted");
            using var extra = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await extra.ConnectAsync(server.Endpoint!);
            // The one over the cap is closed unread.
            Assert.Equal(0, await extra.ReceiveAsync(new byte[1], SocketFlags.None).WaitAsync(Limit));
            Assert.Equal(1, server.TurnedAway);
        }
        finally
        {
            foreach (var s in idle) s.Dispose();
        }
        await Eventually.TrueAsync(() => server.WaitingForToken == 0, Limit, "the idle connections released");
        using var sink = new BufferedWeightSink(0, snap.Header, snap.TotalBytes);
        await WeightStreamClient.RunAsync(offer, Manifest(snap), sink, null, CancellationToken.None).WaitAsync(Limit);
        Assert.True(sink.IsComplete);
    }

    [Fact]
    public async Task Bytes_that_differ_from_the_trainers_hash_fail_the_pull_naming_the_chunk()
    {
        var snap = Snapshot();
        using var server = Server();
        var manifest = Manifest(snap);
        var tampered = (byte[])manifest.ChunkSha256.Clone();
        tampered[2 * WeightDigest.HashBytes] ^= 1;   // as if chunk 2 arrived altered
        using var sink = new BufferedWeightSink(0, snap.Header, snap.TotalBytes);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() =>
            WeightStreamClient.RunAsync(OfferOf(server, snap), manifest with { ChunkSha256 = tampered }, sink, null, CancellationToken.None).WaitAsync(Limit));
        Assert.Contains($"chunk 2 of {snap.ChunkCount}", e.Message);
        Assert.Contains("SHA-256", e.Message);
        Assert.Throws<InvalidDataException>(() => WeightDigest.CheckChunk(manifest with { ChunkSha256 = tampered }, 2, snap.Chunk(2)));
        WeightDigest.CheckChunk(manifest, 2, snap.Chunk(2));
    }
}
