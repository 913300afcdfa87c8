using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using TreePO.Engine.Checkpoint;
using TreePO.Grains.Training;
using TreePO.Grains.WeightStream;

namespace TreePO.Grains.Tests.Training;

/// <summary>An engine's relay alone (no cluster): the bytes it receives pass through a small ring to its children's
/// connections while they arrive; failures cut the children off so that they fall back.</summary>
public sealed class WeightRelayTests
{
    static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    static WeightSnapshot Snapshot() => WeightStreamFaultTests.Snapshot();

    static WeightManifest Manifest(WeightSnapshot s) => WeightStreamFaultTests.Manifest(s);

    static WeightStreamOffer OfferOf(WeightStreamServer server, WeightRelay relay)
    {
        var (endpoint, token) = server.OfferRelay(relay)!.Value;
        return new WeightStreamOffer(relay.Version, endpoint.Address.ToString(), endpoint.Port, token);
    }

    static WeightStreamServer Server(TimeSpan? stall = null) =>
        new(IPAddress.Loopback, IPAddress.Loopback, true, NullLogger<WeightStreamServer>.Instance, stallTimeout: stall);

    /// <summary>The parent's receiving side: the file in pieces of <paramref name="piece"/> bytes, in order.</summary>
    static Task FeedAsync(WeightRelay relay, byte[] file, int piece, long upTo = long.MaxValue) => Task.Run(() =>
    {
        for (long at = 0; at < Math.Min(file.Length, upTo); at += piece)
            relay.Push(at, file.AsSpan((int)at, (int)Math.Min(piece, Math.Min(file.Length, upTo) - at)));
    });

    [Fact]
    public async Task Three_children_read_every_byte_through_a_ring_far_smaller_than_the_weights()
    {
        var snap = Snapshot();
        byte[] file = snap.ToArray();
        using var server = Server();
        var relay = new WeightRelay("r", 0, snap.TotalBytes, server.StallTimeout, capacity: 5000);
        Assert.True(file.Length > 20 * relay.Capacity);
        relay.Expect(3);
        var sinks = Enumerable.Range(0, 3).Select(_ => new BufferedWeightSink(0, snap.Header, snap.TotalBytes)).ToList();
        var children = sinks.Select(s => Task.Run(() => WeightStreamClient.RunAsync(OfferOf(server, relay), Manifest(snap), s, null, CancellationToken.None))).ToList();
        await FeedAsync(relay, file, 1500).WaitAsync(Limit);
        await Task.WhenAll(children).WaitAsync(Limit);
        Assert.All(sinks, s => Assert.Equal(file, s.OpenRead().ToArray()));
        Assert.Equal(3 * snap.TotalBytes, relay.Served);
        Assert.Equal(3 * snap.TotalBytes, server.BytesSent);
        Assert.True(relay.IsComplete);
        // A parent that restarts from byte 0 (its upstream broke, it reads the trainer's stream now) adds nothing.
        relay.Push(0, file.AsSpan(0, 100));
        Assert.Equal(snap.TotalBytes, relay.Forwarded);
    }

    [Fact]
    public async Task A_relay_that_fails_mid_stream_cuts_its_child_off_and_a_late_child_is_refused()
    {
        var snap = Snapshot();
        byte[] file = snap.ToArray();
        using var server = Server();
        var relay = new WeightRelay("r", 0, snap.TotalBytes, server.StallTimeout, capacity: 4096);
        relay.Expect(1);
        using var sink = new BufferedWeightSink(0, snap.Header, snap.TotalBytes);
        var child = Task.Run(() => WeightStreamClient.RunAsync(OfferOf(server, relay), Manifest(snap), sink, null, CancellationToken.None));
        await FeedAsync(relay, file, 1000, upTo: file.Length / 2).WaitAsync(Limit);
        using var late = new BufferedWeightSink(0, snap.Header, snap.TotalBytes);
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            WeightStreamClient.RunAsync(OfferOf(server, relay), Manifest(snap), late, null, CancellationToken.None).WaitAsync(Limit));
        Assert.Contains("status 2", refused.Message);
        relay.Fail(new IOException("the parent's own pull broke"));
        await Assert.ThrowsAnyAsync<IOException>(() => child.WaitAsync(Limit));
        Assert.InRange(sink.ReceivedBytes, 1, snap.TotalBytes - 1);
        Assert.False(sink.IsComplete);
    }

    [Fact]
    public async Task Bytes_out_of_order_fail_the_relay_and_a_child_that_never_comes_is_dropped()
    {
        var snap = Snapshot();
        byte[] file = snap.ToArray();
        var relay = new WeightRelay("r", 0, snap.TotalBytes, TimeSpan.FromSeconds(30), capacity: 4096);
        relay.Push(0, file.AsSpan(0, 100));
        relay.Push(200, file.AsSpan(200, 100));   // a gap: the parent pulls chunks in any order
        Assert.Contains("out of order", relay.Failure!.Message);
        Assert.Equal(100, relay.Forwarded);

        // An expected child that never connects holds the ring for half the stall timeout, then the parent goes on.
        var lonely = new WeightRelay("r2", 0, snap.TotalBytes, TimeSpan.FromSeconds(2), capacity: 4096);
        lonely.Expect(1);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await FeedAsync(lonely, file, 1000).WaitAsync(Limit);
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.8, 20);
        Assert.Equal(1, lonely.Dropped);
        Assert.True(lonely.IsComplete);
    }

    [Fact]
    public async Task A_capped_server_shares_its_rate_among_its_connections()
    {
        var snap = Snapshot();
        var pace = new EgressPace(4e6);   // 4 MB/s: two pulls of the snapshot take at least 2 x its bytes / 4 MB/s
        using var server = new WeightStreamServer(IPAddress.Loopback, IPAddress.Loopback, true, NullLogger<WeightStreamServer>.Instance, pace: pace);
        var sinks = Enumerable.Range(0, 2).Select(_ => new BufferedWeightSink(0, snap.Header, snap.TotalBytes)).ToList();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(sinks.Select(s =>
        {
            var (endpoint, token) = server.Offer(snap)!.Value;
            var offer = new WeightStreamOffer(0, endpoint.Address.ToString(), endpoint.Port, token);
            return Task.Run(() => WeightStreamClient.RunAsync(offer, Manifest(snap), s, null, CancellationToken.None));
        })).WaitAsync(Limit);
        double expected = 2.0 * snap.TotalBytes / pace.BytesPerSecond;
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.9 * expected, Limit.TotalSeconds);
        Assert.All(sinks, s => Assert.True(s.IsComplete));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EgressPace(0));
    }

    [Fact]
    public void A_tree_plan_gives_each_engine_one_parent_and_at_most_degree_children()
    {
        string[] engines = [.. Enumerable.Range(0, 7).Select(i => $"e{i}")];
        var plans = new WeightFanout(WeightFanout.Tree, 2).Plan(engines, "round");
        Assert.Equal(new string?[] { null, null, "e0", "e0", "e1", "e1", "e2" }, plans.Select(p => p!.From));
        Assert.Equal(new[] { 2, 2, 1, 0, 0, 0, 0 }, plans.Select(p => p!.Children));
        // Every engine but the trainer's first two is some engine's child, once.
        Assert.Equal(engines.Length - 2, plans.Sum(p => p!.Children));
        Assert.All(new WeightFanout().Plan(engines, "round"), Assert.Null);
        var chain = new WeightFanout(WeightFanout.Tree, 1).Plan(engines, "round");
        Assert.Equal(new string?[] { null, "e0", "e1", "e2", "e3", "e4", "e5" }, chain.Select(p => p!.From));
    }
}
