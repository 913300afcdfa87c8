using Microsoft.Extensions.DependencyInjection;
using TreePO.Testing;
using TreePO.Core.Trees;
using TreePO.Grains.Engines;
using TreePO.Grains.Placement;
using TreePO.Grains.Tests.Support;
using TreePO.Grains.Trees;

namespace TreePO.Grains.Tests.Trees;

public sealed class QueryTreeGrainTests
{
    static readonly TreeConfig Config = new() { Width = 4, Depth = 3, SegmentLength = 4, Branch = 2 };

    static TreeJob Job(int i, TreeConfig? config = null) => TreeJob.For(
        new QueryItem($"q{i}", $"question {i}", "7", [.. Enumerable.Range(1, 5).Select(t => t + i)]), config ?? Config, (ulong)(50 + i));

    [Fact]
    public async Task Trees_sample_on_their_silos_engine_score_and_release_their_kv()
    {
        var (cluster, factories) = await TestClusters.StartAsync(2);
        await using var _ = cluster;
        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            cluster.Client.GetGrain<IQueryTreeGrain>($"b0/q{i}").RunAsync(Job(i))));

        Assert.All(results, r =>
        {
            var tree = TreeJson.Read(r.TreeLine);
            Assert.Equal(r.TreeId, tree.TreeId);
            Assert.Equal(r.Trajectories, tree.Trajectories.Count);
            Assert.InRange(r.Trajectories, 1, Config.Width);
            Assert.All(r.Routing.Engines, e => Assert.StartsWith(r.Silo + "/", e));
            Assert.Equal(tree.Stats.InferenceCalls, r.Routing.Requests);
        });
        foreach (var f in factories.Values) Assert.All(f.Created, e => Assert.Equal(0, e.LiveNodes));
    }

    [Fact]
    public async Task Trees_spread_over_the_silos_in_proportion_to_their_engines()
    {
        int configured = 0;
        // The first silo serves one engine, the second two.
        var (cluster, _) = await TestClusters.StartAsync(2, o => o.Engine.Devices = Interlocked.Increment(ref configured).ToString());
        await using var _c = cluster;
        // Silo metadata (the device counts) reaches every silo shortly after it joins: wait until each sees all three.
        await Eventually.TrueAsync(() => cluster.Silos.All(s =>
            s.ServiceProvider.GetRequiredService<TreePO.Grains.Routing.EngineDirectory>().GetEngines().Count == 3),
            TimeSpan.FromSeconds(30), "every silo sees the three engines");
        var small = new TreeConfig { Width = 2, Depth = 1, SegmentLength = 2, Branch = 2 };
        var results = await Task.WhenAll(Enumerable.Range(0, 150).Select(i =>
            cluster.Client.GetGrain<IQueryTreeGrain>($"spread/q{i}").RunAsync(Job(i, small))));
        var bySilo = results.GroupBy(r => r.Silo).ToDictionary(g => g.Key, g => g.Count());
        string? two = null;
        foreach (var silo in cluster.Silos)
        {
            try { await cluster.Client.GetGrain<IEngineGrain>(SiloKey.For(silo.SiloAddress, 1)).GetStatsAsync(); two = SiloKey.For(silo.SiloAddress); }
            catch (Exception) { }   // a silo with one device has no engine 1
        }
        Assert.NotNull(two);
        // About 100 of 150 on the silo with two engines (binomial, sd 6); Orleans' default placement ignores engines.
        Assert.InRange(bySilo.GetValueOrDefault(two), 78, 122);
        Assert.Equal(2, bySilo.Count);
    }

    [Fact]
    public async Task Same_seed_and_config_same_tree_and_sequential_mode_uses_the_same_grains()
    {
        var (cluster, _) = await TestClusters.StartAsync(1);
        await using var _c = cluster;
        var grain = cluster.Client.GetGrain<IQueryTreeGrain>("b1/q0");
        var a = await grain.RunAsync(Job(1));
        var b = await grain.RunAsync(Job(1));
        Assert.Equal(a.TreeLine, b.TreeLine);

        var seq = await cluster.Client.GetGrain<IQueryTreeGrain>("b1/q1").RunAsync(Job(1, Config with { Mode = SamplingMode.Sequential }));
        Assert.Equal(SamplingMode.Sequential, TreeJson.Read(seq.TreeLine).Config.Mode);
        var stats = await cluster.Client.GetGrain<IEngineGrain>(SiloKey.For(cluster.Silos[0].SiloAddress, 0)).GetStatsAsync();
        Assert.Equal(a.Routing.Requests + b.Routing.Requests + seq.Routing.Requests, stats.Requests);
    }

    [Fact]
    public async Task An_invalid_config_fails_with_the_option_named()
    {
        var (cluster, _) = await TestClusters.StartAsync(1);
        await using var _c = cluster;
        var e = await Assert.ThrowsAsync<ArgumentException>(() =>
            cluster.Client.GetGrain<IQueryTreeGrain>("b2/q0").RunAsync(Job(0, Config with { Width = 0 })));
        Assert.Contains("Width", e.Message);
    }
}
