using TreePO.Core.Protocol;
using TreePO.Grains.Engines;
using TreePO.Grains.Placement;
using TreePO.Grains.Tests.Support;
using TreePO.Testing;

namespace TreePO.Grains.Tests.Engines;

/// <summary>Engine:MaxQueuedRequests: an engine grain hands its engine at most that many requests at once; the rest
/// wait in the grain (backpressure) and all complete; a caller that gives up while waiting leaves the queue.</summary>
public sealed class EngineQueueLimitTests
{
    static SegmentRequest Request(string tree, int seed) =>
        new(tree, "p", 0, [1, 2, 3], [$"{tree}/a", $"{tree}/b"], 4, new SamplingParams(1, 1, -1), (ulong)seed, -1);

    [Fact]
    public void The_default_bound_is_four_times_the_slots()
    {
        Assert.Equal(256, EngineQueueLimit.FromSlots(0, 64).MaxQueuedRequests);
        Assert.Equal(10, EngineQueueLimit.FromSlots(10, 64).MaxQueuedRequests);
    }

    [Fact]
    public async Task More_requests_than_the_bound_never_reach_the_engine_at_once_and_all_complete()
    {
        var (cluster, factories) = await TestClusters.StartAsync(1, o => o.Engine.MaxQueuedRequests = 4,
            () => new ScriptedEngine { StepTime = TimeSpan.FromMilliseconds(20) });
        await using var _ = cluster;
        var silo = cluster.Silos[0];
        var grain = cluster.Client.GetGrain<IEngineGrain>(SiloKey.For(silo.SiloAddress, 0));

        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => grain.GenerateAsync(Request($"t{i}", i), null, "client", CancellationToken.None)));

        Assert.All(results, r => Assert.Equal(2, r.Branches.Length));
        var engine = factories[silo.Name].Created.Single();
        Assert.InRange(engine.MaxOutstanding, 2, 4);   // batched together, never past the bound
        var stats = await grain.GetStatsAsync();
        Assert.Equal((40L, 0, 0, 4), (stats.Requests, stats.InFlight, stats.Queued, stats.MaxQueuedRequests));
        Assert.InRange(stats.MaxInFlight, 2, 4);
    }

    [Fact]
    public async Task A_caller_that_gives_up_while_waiting_for_room_leaves_the_queue_and_the_engine_serves_on()
    {
        var (cluster, _) = await TestClusters.StartAsync(1, o => o.Engine.MaxQueuedRequests = 1);
        await using var _c = cluster;
        var grain = cluster.Client.GetGrain<IEngineGrain>(SiloKey.For(cluster.Silos[0].SiloAddress, 0));

        using var holder = new CancellationTokenSource();
        var held = grain.GenerateAsync(Request("hang-1", 1), null, "client", holder.Token);   // takes the only room until cancelled
        await Eventually.TrueAsync(async () => (await grain.GetStatsAsync()).InFlight == 1, TimeSpan.FromSeconds(10), "the hanging request admitted");

        using var impatient = new CancellationTokenSource();
        var waiting = grain.GenerateAsync(Request("t-waits", 2), null, "client", impatient.Token);
        await Eventually.TrueAsync(async () => (await grain.GetStatsAsync()).Queued == 1, TimeSpan.FromSeconds(10), "the second request waiting for room");
        impatient.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        // The cancellation reaches the grain as a message of its own, after the caller has its exception.
        await Eventually.TrueAsync(async () => (await grain.GetStatsAsync()) is { Queued: 0, Cancelled: 1 }, TimeSpan.FromSeconds(10), "the waiting request left");
        Assert.Equal(1, (await grain.GetStatsAsync()).InFlight);   // the first still holds the room

        holder.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => held);
        var served = await grain.GenerateAsync(Request("t-after", 3), null, "client", CancellationToken.None);
        Assert.Equal(2, served.Branches.Length);
    }
}
