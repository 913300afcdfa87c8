using TreePO.Core.Protocol;
using TreePO.Core.Trees;
using TreePO.Engine.Model;
using static TreePO.Engine.Tests.Engine.EngineFixture;

namespace TreePO.Engine.Tests.Engine;

/// <summary>Context the engine computes twice under the same weights is counted, by cause, and while the KV fits a
/// tree never recomputes any: released rows stay until the room is needed.</summary>
public sealed class RecomputedContextTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task A_prompt_asked_again_after_its_release_reuses_the_retained_rows()
    {
        await using var engine = Start();
        int[] prompt = TestModels.RandomTokens(20, 31);
        var first = await engine.GenerateAsync(Request(prompt, branches: 2, maxTokens: 6, parent: "p1")).WaitAsync(Timeout);
        await engine.ReleaseAsync([.. first.Branches.Select(b => b.NodeId), "p1"]).WaitAsync(Timeout);
        Assert.Equal(0, engine.GetStats().CachedNodes);
        Assert.Equal(0, engine.GetStats().KvBytesUsed);

        var again = await engine.GenerateAsync(Request(prompt, branches: 2, maxTokens: 6, parent: "p2")).WaitAsync(Timeout);
        Assert.Equal(prompt.Length - 1, again.ReusedTokens);
        Assert.Equal(1, again.PrefillTokens);
        Assert.Equal(0, again.RecomputedTokens);
    }

    /// <summary>A request that extends a retained slot in place needs its other branches' slots besides that one: with
    /// the rest of the slots held by a cached node, that node is evicted rather than the request failing.</summary>
    [Fact]
    public async Task Extending_a_retained_slot_still_makes_room_for_the_other_branches()
    {
        await using var engine = Start(slots: 3);
        await engine.GenerateAsync(Request(TestModels.RandomTokens(10, 41), branches: 1, maxTokens: 4, parent: "q")).WaitAsync(Timeout);
        int[] prompt = TestModels.RandomTokens(12, 42);
        var first = await engine.GenerateAsync(Request(prompt, branches: 2, maxTokens: 4, parent: "p1")).WaitAsync(Timeout);
        await engine.ReleaseAsync([.. first.Branches.Select(b => b.NodeId), "p1"]).WaitAsync(Timeout);

        var wide = await engine.GenerateAsync(Request(prompt, branches: 3, maxTokens: 4, parent: "p2")).WaitAsync(Timeout);
        Assert.Equal(3, wide.Branches.Length);
        Assert.Equal(prompt.Length - 1, wide.ReusedTokens);
        Assert.Equal(0, engine.GetStats().RequestsFailed);
    }

    [Fact]
    public async Task Context_prefilled_again_after_eviction_is_counted_as_recomputed()
    {
        long perToken = Qwen2Config.Tiny().KvBytesPerToken(TorchSharp.torch.ScalarType.Float32);
        await using var engine = Start(budget: 4 * 24 * perToken, slots: 8, maxSequenceLength: 24);
        int[] prompt = TestModels.RandomTokens(12, 4);
        var r1 = await engine.GenerateAsync(Request(prompt, branches: 2, maxTokens: 6, seed: 1)).WaitAsync(Timeout);
        for (int i = 0; i < 3; i++)
            await engine.GenerateAsync(Request(TestModels.RandomTokens(14, 50 + i), branches: 2, maxTokens: 6, seed: 2)).WaitAsync(Timeout);
        Assert.Equal(0, engine.GetStats().RecomputedTokens);

        int[] ctx = [.. prompt, .. r1.Branches[0].Tokens];
        var result = await engine.GenerateAsync(Request(ctx, branches: 2, maxTokens: 5, seed: 7, parent: r1.Branches[0].NodeId)).WaitAsync(Timeout);
        // Every context position but the last sampled token (which had no K/V yet) was computed before.
        Assert.Equal(ctx.Length, result.PrefillTokens);
        Assert.Equal(ctx.Length - 1, result.RecomputedTokens);
        var stats = engine.GetStats();
        Assert.Equal(ctx.Length - 1, stats.RecomputedTokens);
        Assert.Equal(ctx.Length - 1, stats.RecomputedEvicted + stats.RecomputedReleased);
    }

    /// <summary>Prompts behind one template, admitted together: the prefill budget computes the later ones in later
    /// steps, by which time the shared rows exist in the first one's slot; they are copied, not computed again.</summary>
    [Fact]
    public async Task Prompts_sharing_a_prefix_admitted_together_compute_it_once()
    {
        await using var engine = Start(slots: 16, prefillChunk: 8);
        int[] template = TestModels.RandomTokens(20, 70);
        var prompts = Enumerable.Range(0, 3).Select(i => (int[])[.. template, .. TestModels.RandomTokens(6, 71 + i)]).ToList();
        var results = await Task.WhenAll(prompts.Select((p, i) => engine.GenerateAsync(Request(p, branches: 2, maxTokens: 4, seed: (ulong)i))))
            .WaitAsync(Timeout);
        Assert.Equal(0, engine.GetStats().RecomputedTokens);
        // The template's rows were computed once: the two later prompts took them from the first one's slot.
        Assert.Equal(2 * template.Length, results.Sum(r => r.ReusedTokens));
        Assert.Equal(prompts.Sum(p => p.Length) - 2 * template.Length, results.Sum(r => r.PrefillTokens));
    }

    /// <summary>Two prompts sharing a prefix, admitted together: the prefill budget computes the first whole and the
    /// start of the second in one step; the second's next step takes the rest of the shared rows from the first's slot
    /// instead of computing them again (the default training run computed a few such tokens twice).</summary>
    [Fact]
    public async Task A_prompt_partly_prefilled_beside_one_sharing_its_prefix_takes_the_rest_of_the_shared_rows()
    {
        await using var engine = Start(slots: 16, prefillChunk: 8);
        int[] shared = TestModels.RandomTokens(6, 80);
        int[] first = shared, second = [.. shared, .. TestModels.RandomTokens(10, 81)];
        // The first takes 6 of the step's 8 prefill tokens, the second its first 2; then 4 shared rows remain.
        var results = await Task.WhenAll(
                engine.GenerateAsync(Request(first, branches: 2, maxTokens: 4, seed: 1)),
                engine.GenerateAsync(Request(second, branches: 2, maxTokens: 4, seed: 2)))
            .WaitAsync(Timeout);
        Assert.Equal(0, engine.GetStats().RecomputedTokens);
        // The second computed its first 2 rows beside the first (the same step: computed together, not twice) and
        // took the other 4 shared rows.
        Assert.Equal(shared.Length - 2, results[1].ReusedTokens);
        Assert.Equal(first.Length + second.Length - (shared.Length - 2), results.Sum(r => r.PrefillTokens));
    }

    /// <summary>After a held-out evaluation every slot holds the released rows of prompts behind one template. New
    /// prompts admitted together each find their longest match in another retained slot: making room for one must not
    /// give up the slot another is about to reuse (the default training run recomputed a token a prompt so).</summary>
    [Fact]
    public async Task Prompts_admitted_together_keep_the_retained_slots_the_others_reuse()
    {
        using var gate = new ManualResetEventSlim(true);
        using var held = new ManualResetEventSlim(false);
        await using var engine = InferenceEngine.Load(new EngineOptions
        {
            ModelPath = TinyDir, KvBudgetBytes = 64L << 20, MaxSlots = 7, PrefillChunk = 256, Threads = 2, EosTokenIds = [],
            StepFault = _ =>
            {
                if (gate.IsSet) return;
                held.Set();
                gate.Wait(Timeout);
            },
        });
        int[] template = TestModels.RandomTokens(10, 90);
        int[] Prompt(int word, int seed) => [.. template, 250 + word, .. TestModels.RandomTokens(5, seed)];

        // The evaluation: six prompts, one slot each, then all released (their slots keep the rows).
        var evals = await Task.WhenAll(Enumerable.Range(0, 6)
            .Select(i => engine.GenerateAsync(Request(Prompt(i, 100 + i), branches: 1, maxTokens: 3, seed: (ulong)i)))).WaitAsync(Timeout);
        await engine.ReleaseAsync(evals.SelectMany(r => r.Branches.Select(b => b.NodeId)).ToList()).WaitAsync(Timeout);

        // A long request on the seventh slot holds the engine in a step while the new prompts arrive, so that they
        // are admitted in one pass.
        gate.Reset();
        var busy = engine.GenerateAsync(Request(TestModels.RandomTokens(8, 120), branches: 1, maxTokens: 20, seed: 9));
        Assert.True(held.Wait(Timeout));
        var prompts = Enumerable.Range(0, 3).Select(i => engine.GenerateAsync(Request(Prompt(i, 130 + i), branches: 2, maxTokens: 3, seed: (ulong)(20 + i)))).ToList();
        gate.Set();
        var results = await Task.WhenAll(prompts).WaitAsync(Timeout);
        await busy.WaitAsync(Timeout);

        Assert.Equal(0, engine.GetStats().RecomputedTokens);
        // Each new prompt took the template and its word from the evaluation prompt it shares them with.
        Assert.All(results, r => Assert.Equal(template.Length + 1, r.ReusedTokens));
    }

    /// <summary>The default tree shape (w = 8, d = 4, l = 16, b = 2, random fallback) over several queries at once, with
    /// an EOS id so that paths end early and fallback runs: with room for everything, nothing is computed twice.</summary>
    [Fact]
    public async Task Trees_recompute_nothing_while_the_kv_fits()
    {
        var config = new TreeConfig { Width = 8, Depth = 4, SegmentLength = 16, Branch = 2 };
        // Prompts behind one chat template, as the built-in task's are.
        int[] template = TestModels.RandomTokens(10, 599);
        var queries = Enumerable.Range(0, 6)
            .Select(i => new QueryItem($"q{i}", "", "", [.. template, .. TestModels.RandomTokens(12 + i, 600 + i)])).ToList();
        int[] eos = [.. Enumerable.Range(0, 30).Select(i => 3 + 10 * i)];
        await using var engine = Start(slots: 64, eos: eos);
        var sampler = new TreeSampler(config, engine, new NoText(), eos.ToHashSet());
        var trees = await Task.WhenAll(queries.Select(q => sampler.RunAsync(q, $"t-{q.Id}", seed: 9, policyVersion: -1))).WaitAsync(Timeout);
        Assert.True(trees.Sum(t => t.Stats.FallbackRequests) > 0, "the workload must exercise fallback");
        var stats = engine.GetStats();
        Assert.Equal(0, stats.Evictions);
        Assert.Equal(0, stats.RecomputedTokens);
    }
}
