using TreePO.Core.Protocol;
using TreePO.Core.Trees;
using TreePO.Engine.Model;
using static TreePO.Engine.Tests.Engine.EngineFixture;

namespace TreePO.Engine.Tests.Engine;

/// <summary>More waiting work than slots: the engine must not evict what queued and upcoming requests continue.</summary>
public sealed class SlotPressureTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    /// <summary>Eight sequential-mode trees (w = 2 chains of d = 4 segments each) at once on 4 slots: all eight need 16
    /// slots, any one tree needs 2. A scheduler that finishes trees instead of spreading the slots over all of them
    /// recomputes nothing, so the bound asserted is the unavoidable minimum itself: each prompt prefilled once, and
    /// one token for every continuing request (a segment's last sampled token has no K/V until it is fed).</summary>
    [Fact]
    public async Task Trees_that_outnumber_the_slots_prefill_only_what_is_unavoidable()
    {
        var config = new TreeConfig { Width = 2, Depth = 4, SegmentLength = 4, Branch = 2, Mode = SamplingMode.Sequential };
        var queries = Enumerable.Range(0, 8).Select(i => new QueryItem($"q{i}", "", "", TestModels.RandomTokens(10 + i, 500 + i))).ToList();

        await using var engine = Start(slots: 4);
        var sampler = new TreeSampler(config, engine, new NoText(), new HashSet<int>());
        var trees = await Task.WhenAll(queries.Select(q => sampler.RunAsync(q, $"t-{q.Id}", seed: 3, policyVersion: -1))).WaitAsync(Timeout);

        var stats = engine.GetStats();
        long requests = trees.Sum(t => (long)t.Stats.InferenceCalls);
        long minimum = queries.Sum(q => (long)q.PromptTokens.Length) + (requests - queries.Count);
        Assert.Equal(queries.Count * (1 + config.Width * (config.Depth - 1)), requests);
        Assert.All(trees, t => Assert.Equal(config.Width, t.Trajectories.Count));
        Assert.Equal(minimum, stats.PrefillTokens);
        Assert.Equal(0, stats.RequestsFailed);
        Assert.Equal(0, stats.QueueDepth);
        Assert.True(stats.KvBytesUsed <= stats.KvBudgetBytes);

        // Same trees as on an engine with a slot for everything: the pressure changes the schedule, not the samples.
        await using var roomy = Start(slots: 32);
        var reference = new TreeSampler(config, roomy, new NoText(), new HashSet<int>());
        var expected = await Task.WhenAll(queries.Select(q => reference.RunAsync(q, $"t-{q.Id}", seed: 3, policyVersion: -1))).WaitAsync(Timeout);
        for (int i = 0; i < trees.Length; i++)
            Assert.Equal(expected[i].Nodes.Select(n => n.Tokens), trees[i].Nodes.Select(n => n.Tokens));
    }

    /// <summary>Every slot holds a node that a waiting request of the same tree continues, and each of those requests
    /// needs one more slot than it can take: only evicting a pinned node can make room. The engine waits a moment for
    /// releases, then admits the first request anyway, and all complete within the KV budget.</summary>
    [Fact]
    public async Task Every_slot_pinned_still_makes_progress()
    {
        long perToken = Qwen2Config.Tiny().KvBytesPerToken(TorchSharp.torch.ScalarType.Float32);
        long budget = 4 * 40 * perToken;
        await using var engine = Start(slots: 4, budget: budget, maxSequenceLength: 40);
        var prompts = Enumerable.Range(0, 4).Select(i => TestModels.RandomTokens(12, 700 + i)).ToArray();
        var roots = await Task.WhenAll(prompts.Select((p, i) => engine.GenerateAsync(Request(p, branches: 1, maxTokens: 4, seed: (ulong)i)))).WaitAsync(Timeout);
        Assert.Equal(4, engine.GetStats().LiveSlots);

        var next = roots.Select((r, i) => Request([.. prompts[i], .. r.Branches[0].Tokens], branches: 2, maxTokens: 4, seed: (ulong)(10 + i),
            parent: r.Branches[0].NodeId)).ToArray();
        var results = await Task.WhenAll(next.Select(r => engine.GenerateAsync(r))).WaitAsync(Timeout);

        Assert.All(results, r => Assert.All(r.Branches, b => Assert.Equal(4, b.Tokens.Length)));
        var stats = engine.GetStats();
        Assert.Equal(8, stats.RequestsCompleted);
        Assert.Equal(0, stats.RequestsFailed);
        Assert.True(stats.KvBytesUsed <= budget);
        Assert.True(results.Count(r => r.ReusedTokens > 0) >= 1, "the first admitted request extends its own node");
    }
}
