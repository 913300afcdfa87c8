using TreePO.Testing;
using TreePO.Core.Protocol;
using Orleans.Runtime;
using Orleans.Runtime.Placement;
using TreePO.Grains.Engines;
using TreePO.Grains.Placement;
using TreePO.Grains.Tests.Support;

namespace TreePO.Grains.Tests.Routing;

public sealed class EngineRoutingTests
{
    static ProbeJob Job(int i, int depth = 4, int promptLength = 6) =>
        new([.. Enumerable.Range(1, promptLength).Select(t => (t * 7 + i) % 60 + 1)], 2, depth, 4, (ulong)(1000 + i));

    [Fact]
    public async Task Two_silos_serve_32_trees_each_engine_only_its_own_silos_trees_in_shared_batches()
    {
        var (cluster, factories) = await TestClusters.StartAsync(2);
        await using var _ = cluster;

        var results = await Task.WhenAll(Enumerable.Range(0, 32).Select(i =>
            cluster.Client.GetGrain<IChainProbeGrain>($"b0/q{i}").RunAsync(Job(i))));

        Assert.All(results, r =>
        {
            Assert.Equal(2, r.Paths.Length);
            Assert.All(r.Paths, p => Assert.NotEmpty(p));
            Assert.Equal(0, r.Routing.Failovers);
            Assert.All(r.Routing.Engines, e => Assert.StartsWith(r.Silo + "/", e));
            Assert.Equal(0, r.LiveNodesAfter);
        });
        long served = 0;
        foreach (var silo in cluster.Silos)
        {
            string siloKey = SiloKey.For(silo.SiloAddress);
            if (!results.Any(r => r.Silo == siloKey)) continue;   // no tree happened to land here
            var stats = await cluster.Client.GetGrain<IEngineGrain>(SiloKey.For(silo.SiloAddress, 0)).GetStatsAsync();
            Assert.Equal([siloKey], stats.RequestsBySilo.Keys);
            served += stats.Requests;
            // The engine activated on its own silo: that silo's factory made it, once.
            Assert.Single(factories[silo.Name].Created);
            Assert.Equal(0, factories[silo.Name].Created[0].LiveNodes);
            Assert.True(stats.Counters.MaxBatchSize > 1, $"max batch {stats.Counters.MaxBatchSize}");
            Assert.True(stats.MaxInFlight > 1);
        }
        Assert.Equal(results.Sum(r => r.Routing.Requests), served);
    }

    [Fact]
    public async Task Same_seed_and_config_give_the_same_tree()
    {
        var (cluster, _) = await TestClusters.StartAsync(1);
        await using var _c = cluster;
        var a = await cluster.Client.GetGrain<IChainProbeGrain>("b1/q0").RunAsync(Job(3, depth: 5));
        var b = await cluster.Client.GetGrain<IChainProbeGrain>("b2/q0").RunAsync(Job(3, depth: 5));
        var c = await cluster.Client.GetGrain<IChainProbeGrain>("b3/q0").RunAsync(Job(4, depth: 5));
        Assert.Equal(a.Paths, b.Paths);
        Assert.NotEqual(a.Paths, c.Paths);
    }

    [Fact]
    public async Task Killing_the_silo_of_a_trees_engine_moves_the_tree_without_losing_a_segment()
    {
        var (cluster, factories) = await TestClusters.StartAsync(2, o =>
        {
            o.Routing.PreferLocal = false;                      // trees spread over both engines
            o.Routing.SegmentTimeout = TimeSpan.FromSeconds(5);
        }, () => new ScriptedEngine { StepTime = TimeSpan.FromMilliseconds(20), EosOneIn = 500 });
        await using var _ = cluster;
        var home = cluster.Silos[0];
        var victim = cluster.Silos[1];
        string victimEngine = SiloKey.For(victim.SiloAddress, 0);
        const int trees = 8;

        Task<ProbeResult> RunOnHome(string key, int i)
        {
            RequestContext.Set(IPlacementDirector.PlacementHintKey, home.SiloAddress);
            try { return cluster.Client.GetGrain<IChainProbeGrain>(key).RunAsync(Job(i, depth: 12)); }
            finally { RequestContext.Clear(); }
        }

        var reference = await Task.WhenAll(Enumerable.Range(0, trees).Select(i => RunOnHome($"ref/q{i}", i)));
        Assert.All(reference, r => Assert.Equal(SiloKey.For(home.SiloAddress), r.Silo));
        Assert.Contains(reference, r => r.Routing.Engines.Contains(victimEngine));

        var engine = factories[victim.Name].Created.Single();
        long before = engine.GetCounters().Steps;
        var running = Enumerable.Range(0, trees).Select(i => RunOnHome($"kill/q{i}", i)).ToArray();
        await Eventually.TrueAsync(() => engine.GetCounters().Steps >= before + 4, TimeSpan.FromSeconds(60), "four engine steps", pollMs: 5);   // mid-rollout
        await cluster.KillSiloAsync(victim);
        var results = await Task.WhenAll(running);

        for (int i = 0; i < trees; i++) Assert.Equal(reference[i].Paths, results[i].Paths);   // nothing lost or changed
        // Trees on the victim's engine that had not finished moved once, to the home engine.
        var moved = results.Where(r => r.Routing.Failovers > 0).ToList();
        Assert.NotEmpty(moved);
        Assert.All(moved, r =>
        {
            Assert.Equal([victimEngine, SiloKey.For(home.SiloAddress, 0)], r.Routing.Engines);
            Assert.True(r.Routing.RecomputedPrefixTokens > 0, "recomputed prefix reported");
        });
        Assert.All(results.Except(moved), r => Assert.Equal(0, r.Routing.RecomputedPrefixTokens));
    }

    [Fact]
    public async Task A_timed_out_or_cancelled_request_frees_its_slot_and_nodes()
    {
        var (cluster, factories) = await TestClusters.StartAsync(1, o =>
        {
            o.Routing.SegmentTimeout = TimeSpan.FromMilliseconds(400);
            o.Routing.MaxAttempts = 1;
            o.Routing.EngineWaitTimeout = TimeSpan.Zero;
        });
        await using var _ = cluster;
        var silo = cluster.Silos[0];
        var grain = cluster.Client.GetGrain<IEngineGrain>(SiloKey.For(silo.SiloAddress, 0));

        // Timeout: the tree gives up, the engine cancels the request.
        var e = await Assert.ThrowsAnyAsync<Exception>(() => cluster.Client.GetGrain<IChainProbeGrain>("b/hang-1").RunAsync(Job(1)));
        Assert.Contains("within", e.Message);

        // Cancellation by the caller.
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var request = new SegmentRequest("hang-2", "p", 0, [1, 2, 3], ["hang-2/a", "hang-2/b"], 4, new SamplingParams(1, 1, -1), 7, -1);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => grain.GenerateAsync(request, null, "client", cts.Token));

        var stats = await WaitAsync(() => grain.GetStatsAsync(), s => s.Cancelled == 2 && s.Counters.ActiveSequences == 0);
        Assert.Equal(0, stats.InFlight);
        Assert.Equal(0, factories[silo.Name].Created.Single().LiveNodes);

        // The engine still serves others.
        var ok = await cluster.Client.GetGrain<IChainProbeGrain>("b/q2").RunAsync(Job(2));
        Assert.Equal(2, ok.Paths.Length);
    }

    [Fact]
    public async Task A_slow_engine_is_not_a_dead_one_the_only_engine_keeps_its_trees_past_a_short_timeout()
    {
        // Every segment takes a 250 ms step, well past the 100 ms timeout; one engine, one attempt, no wait for another
        // engine: treating the timeout as a failure would fail every tree.
        var (cluster, factories) = await TestClusters.StartAsync(1, o =>
        {
            o.Routing.SegmentTimeout = TimeSpan.FromMilliseconds(100);
            o.Routing.MaxAttempts = 1;
            o.Routing.EngineWaitTimeout = TimeSpan.Zero;
            o.Routing.LoadProbeTimeout = TimeSpan.FromSeconds(1);
        }, () => new ScriptedEngine { StepTime = TimeSpan.FromMilliseconds(250) });
        await using var _ = cluster;
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
            cluster.Client.GetGrain<IChainProbeGrain>($"slow/q{i}").RunAsync(Job(i, depth: 2))));
        Assert.All(results, r =>
        {
            Assert.Equal(2, r.Paths.Length);
            Assert.Equal(0, r.Routing.Failovers);
            Assert.Equal(0, r.Routing.RetriedRequests);
        });
        Assert.True(results.Sum(r => r.Routing.SlowWaits) > 0, "no request outlasted the timeout: the test proves nothing");
        var stats = await cluster.Client.GetGrain<IEngineGrain>(SiloKey.For(cluster.Silos[0].SiloAddress, 0)).GetStatsAsync();
        Assert.Equal(0, stats.Cancelled);
    }

    [Fact]
    public async Task A_prompt_longer_than_the_model_allows_fails_its_tree_alone()
    {
        var (cluster, _) = await TestClusters.StartAsync(1);
        await using var _c = cluster;
        var tasks = Enumerable.Range(0, 4).Select(i =>
            cluster.Client.GetGrain<IChainProbeGrain>($"b/q{i}").RunAsync(Job(i, promptLength: i == 2 ? 300 : 6))).ToArray();
        var e = await Assert.ThrowsAsync<ArgumentException>(() => tasks[2]);
        Assert.Contains("300 tokens", e.Message);
        Assert.Contains("exceeds the model's context of 256", e.Message);
        foreach (int i in new[] { 0, 1, 3 }) Assert.Equal(2, (await tasks[i]).Paths.Length);
        var stats = await cluster.Client.GetGrain<IEngineGrain>(SiloKey.For(cluster.Silos[0].SiloAddress, 0)).GetStatsAsync();
        Assert.Equal(1, stats.Failed);
    }

    static async Task<T> WaitAsync<T>(Func<Task<T>> get, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var value = await get();
            if (done(value) || DateTime.UtcNow > deadline) return value;
            await Task.Delay(20);
        }
    }
}
