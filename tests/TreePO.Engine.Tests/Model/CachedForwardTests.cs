using TreePO.Engine.Kv;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests.Model;

/// <summary>The cached, batched step against the full causal recompute (a different code path: repeated K/V and the
/// causal flag), which is the proof of the cache until an HF-produced fixture exists.</summary>
public sealed class CachedForwardTests
{
    public CachedForwardTests() => TorchRuntime.EnsureLoaded();

    const float Tolerance = 1e-4f;

    [Trait(TestModels.DeviceTrait, "any")]
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Chunked_prefill_and_decode_equal_full_recompute(bool tied)
    {
        using var scope = NewDisposeScope();
        using var model = Qwen2Model.Random(Qwen2Config.Tiny(tied), 7, TestModels.Device);
        using var cache = new KvCache(model.Config, slots: 4, maxLength: 64, device: TestModels.Device);
        int[] a = TestModels.RandomTokens(40, 1);
        int[] b = TestModels.RandomTokens(30, 2);
        var fullA = model.Forward(TestModels.IdsOnDevice(a))[0];
        var fullB = model.Forward(TestModels.IdsOnDevice(b))[0];

        // Prefill 'a' in uneven chunks in slot 2, 'b' in one chunk in slot 0, in the same steps.
        var l0 = model.Step(cache, [new StepItem(2, 0, a[..7]), new StepItem(0, 0, b[..12])]);
        Assert.True(TestModels.MaxAbsDiff(l0[0], fullA[6]) <= Tolerance);
        Assert.True(TestModels.MaxAbsDiff(l0[1], fullB[11]) <= Tolerance);
        var l1 = model.Step(cache, [new StepItem(2, 7, a[7..16])]);
        Assert.True(TestModels.MaxAbsDiff(l1[0], fullA[15]) <= Tolerance);

        // Then decode both one token at a time, batched (different lengths: two attention groups).
        for (int t = 0; t < 14; t++)
        {
            var l = model.Step(cache, [new StepItem(0, 12 + t, [b[12 + t]]), new StepItem(2, 16 + t, [a[16 + t]])]);
            float da = TestModels.MaxAbsDiff(l[1], fullA[16 + t]);
            float db = TestModels.MaxAbsDiff(l[0], fullB[12 + t]);
            Assert.True(da <= Tolerance, $"a, position {16 + t}: {da}");
            Assert.True(db <= Tolerance, $"b, position {12 + t}: {db}");
        }
    }

    /// <summary>Paths at different lengths on neighbouring slots (a tree's paths a segment apart) attend in one masked
    /// call, and each row sees its own keys only.</summary>
    [Trait(TestModels.DeviceTrait, "any")]
    [Fact]
    public void Neighbouring_slots_at_different_lengths_attend_in_one_masked_call()
    {
        using var scope = NewDisposeScope();
        using var model = Qwen2Model.Random(Qwen2Config.Tiny(), 13, TestModels.Device);
        using var cache = new KvCache(model.Config, slots: 5, maxLength: 64, device: TestModels.Device);
        int[][] seqs = [TestModels.RandomTokens(14, 21), TestModels.RandomTokens(20, 22), TestModels.RandomTokens(11, 23)];
        int[] lengths = [10, 16, 8];
        model.Step(cache, seqs.Select((q, i) => new StepItem(i + 1, 0, q[..lengths[i]])).ToArray());
        for (int t = 0; t < 3; t++)
        {
            var items = seqs.Select((q, i) => new StepItem(i + 1, lengths[i] + t, [q[lengths[i] + t]])).ToArray();
            var plan = StepPlan.Build(items, cache, model.Config.KvGroups, model.Device);
            var run = Assert.IsType<StepPlan.Run>(Assert.Single(plan.Groups));
            Assert.NotNull(run.Mask);
            var l = model.Step(cache, items);
            for (int i = 0; i < seqs.Length; i++)
            {
                var fresh = model.Forward(TestModels.IdsOnDevice(seqs[i][..(lengths[i] + t + 1)]))[0][-1];
                Assert.True(TestModels.MaxAbsDiff(l[i], fresh) <= Tolerance, $"sequence {i}, step {t}");
            }
        }
    }

    /// <summary>Rows on slots apart (trees' paths) make more runs than the kernel serves well, and rows of a ragged run
    /// would pad it: on a CPU in fp32 they attend in one host pass, each row over its own slot's keys, as the full
    /// recompute and as the runs do.</summary>
    [Fact]
    public void Rows_on_slots_apart_attend_in_one_host_pass_and_equal_the_runs_and_the_full_recompute()
    {
        using var scope = NewDisposeScope();
        using var model = Qwen2Model.Random(Qwen2Config.Tiny(), 17, CPU);
        using var hostCache = new KvCache(model.Config, slots: 8, maxLength: 64);
        using var runCache = new KvCache(model.Config, slots: 8, maxLength: 64);
        int[] slots = [0, 2, 3, 6];   // three runs: {0}, {2, 3}, {6}
        int[] lengths = [12, 5, 9, 20];
        int[][] seqs = [.. slots.Select((_, i) => TestModels.RandomTokens(24, 30 + i))];
        foreach (var cache in new[] { hostCache, runCache })
            model.Step(cache, slots.Select((slot, i) => new StepItem(slot, 0, seqs[i][..lengths[i]])).ToArray());
        for (int t = 0; t < 3; t++)
        {
            var items = slots.Select((slot, i) => new StepItem(slot, lengths[i] + t, [seqs[i][lengths[i] + t]])).ToArray();
            var decode = Assert.IsType<StepPlan.Decode>(Assert.Single(StepPlan.Build(items, hostCache, model.Config.KvGroups, CPU, hostDecode: true).Groups));
            Assert.Equal(slots, decode.Slots);
            Assert.Equal(3, StepPlan.Build(items, runCache, model.Config.KvGroups, CPU).Groups.Count);
            model.HostDecode = true;
            var host = model.Step(hostCache, items);
            model.HostDecode = false;
            var runs = model.Step(runCache, items);
            for (int i = 0; i < slots.Length; i++)
            {
                var fresh = model.Forward(TestModels.IdsOnDevice(seqs[i][..(lengths[i] + t + 1)]))[0][-1];
                Assert.True(TestModels.MaxAbsDiff(host[i], fresh) <= Tolerance, $"host pass, row {i}, step {t}");
                Assert.True(TestModels.MaxAbsDiff(host[i], runs[i]) <= 1e-5f, $"host pass against runs, row {i}, step {t}");
            }
        }
        // One or two runs of equal lengths take the host pass while a row's work is small (here 2 x 8 x 16), and stay with
        // libtorch's kernel past it (7 query heads of 64 a KV head, 64 keys: 28,672); a ragged run always takes the pass.
        StepItem[] twoRuns = [new StepItem(0, 7, [1]), new StepItem(1, 7, [2]), new StepItem(5, 7, [3])];
        Assert.IsType<StepPlan.Decode>(Assert.Single(StepPlan.Build(twoRuns, hostCache, model.Config.KvGroups, CPU, hostDecode: true).Groups));
        var wide = Qwen2Config.Tiny() with { HiddenSize = 896, NumAttentionHeads = 14, NumKeyValueHeads = 2, NumHiddenLayers = 1 };
        using (var wideCache = new KvCache(wide, slots: 8, maxLength: 64))
        {
            StepItem[] longRuns = [new StepItem(0, 63, [1]), new StepItem(1, 63, [2]), new StepItem(5, 63, [3])];
            Assert.Equal(28_672, (long)wide.KvGroups * 64 * wide.HeadDim);
            Assert.All(StepPlan.Build(longRuns, wideCache, wide.KvGroups, CPU, hostDecode: true).Groups, g => Assert.IsType<StepPlan.Run>(g));
        }
        var ragged = StepPlan.Build([new StepItem(0, 4, [1]), new StepItem(1, 6, [2])], hostCache, model.Config.KvGroups, CPU, hostDecode: true);
        Assert.Equal([4 + 1, 6 + 1], Assert.IsType<StepPlan.Decode>(Assert.Single(ragged.Groups)).Lengths);
        Assert.NotNull(Assert.IsType<StepPlan.Run>(Assert.Single(StepPlan.Build([new StepItem(0, 4, [1]), new StepItem(1, 6, [2])], hostCache,
            model.Config.KvGroups, CPU).Groups)).Mask);
    }

    /// <summary>Lengths so far apart that one call would read more than twice the keys attend separately.</summary>
    [Fact]
    public void Lengths_far_apart_are_not_padded_into_one_call()
    {
        using var scope = NewDisposeScope();
        var config = Qwen2Config.Tiny();
        using var cache = new KvCache(config, slots: 3, maxLength: 64);
        var plan = StepPlan.Build([new StepItem(0, 2, [1]), new StepItem(1, 2, [2]), new StepItem(2, 60, [3])], cache, config.KvGroups, CPU);
        Assert.Equal(2, plan.Groups.Count);
        Assert.Null(((StepPlan.Run)plan.Groups[0]).Mask);
    }

    [Trait(TestModels.DeviceTrait, "any")]
    [Fact]
    public void Forked_children_continue_as_fresh_sequences()
    {
        using var scope = NewDisposeScope();
        using var model = Qwen2Model.Random(Qwen2Config.Tiny(), 11, TestModels.Device);
        using var cache = new KvCache(model.Config, slots: 4, maxLength: 64, device: TestModels.Device);
        int[] ctx = TestModels.RandomTokens(20, 3);
        model.Step(cache, [new StepItem(0, 0, ctx)]);
        cache.CopyPrefix(0, 1, ctx.Length);
        cache.CopyPrefix(0, 2, ctx.Length);

        // Children 1 and 2 (consecutive slots, same length: one batched attention group) take different tokens.
        int[][] next = [[5, 17, 42], [9, 9, 250]];
        for (int t = 0; t < 3; t++)
        {
            var l = model.Step(cache, [new StepItem(1, 20 + t, [next[0][t]]), new StepItem(2, 20 + t, [next[1][t]])]);
            for (int c = 0; c < 2; c++)
            {
                int[] path = ctx.Concat(next[c].Take(t + 1)).ToArray();
                var fresh = model.Forward(TestModels.IdsOnDevice(path))[0][-1];
                Assert.True(TestModels.MaxAbsDiff(l[c], fresh) <= Tolerance, $"child {c}, step {t}");
            }
        }
    }

    [Trait(TestModels.DeviceTrait, "any")]
    [Fact]
    public void Batched_step_equals_unbatched_steps()
    {
        using var scope = NewDisposeScope();
        using var model = Qwen2Model.Random(Qwen2Config.Tiny(), 5, TestModels.Device);
        using var together = new KvCache(model.Config, slots: 3, maxLength: 32, device: TestModels.Device);
        using var alone = new KvCache(model.Config, slots: 3, maxLength: 32, device: TestModels.Device);
        int[][] seqs = [TestModels.RandomTokens(9, 1), TestModels.RandomTokens(9, 2), TestModels.RandomTokens(4, 3)];
        var batched = model.Step(together, seqs.Select((s, i) => new StepItem(i, 0, s)).ToArray());
        for (int i = 0; i < 3; i++)
        {
            var single = model.Step(alone, [new StepItem(i, 0, seqs[i])]);
            Assert.True(TestModels.MaxAbsDiff(batched[i], single[0]) <= 1e-5f);
        }
        var nextBatched = model.Step(together, [new StepItem(0, 9, [1]), new StepItem(1, 9, [2]), new StepItem(2, 4, [3])]);
        for (int i = 0; i < 3; i++)
        {
            var single = model.Step(alone, [new StepItem(i, seqs[i].Length, [i + 1])]);
            Assert.True(TestModels.MaxAbsDiff(nextBatched[i], single[0]) <= 1e-5f);
        }
    }

    /// <summary>A lazy cache (rows uninitialised until a slot reaches them) holding NaN everywhere, as reused memory
    /// may: a ragged run reads rows past the shorter sequences' ends, masked out, and must see zeros there, not NaN.
    /// Fails without <see cref="KvCache.Reach"/> (0 x NaN in the attention's weighted sum).</summary>
    [Trait(TestModels.DeviceTrait, "any")]
    [Fact]
    public void A_lazy_cache_full_of_NaN_gives_the_same_steps_as_a_committed_one()
    {
        using var scope = NewDisposeScope();
        using var model = Qwen2Model.Random(Qwen2Config.Tiny(), 5, TestModels.Device);
        using var lazy = new KvCache(model.Config, slots: 3, maxLength: 32, device: TestModels.Device, committed: false);
        using var committed = new KvCache(model.Config, slots: 3, maxLength: 32, device: TestModels.Device);
        Assert.False(lazy.Committed);
        for (int l = 0; l < lazy.Layers; l++)
        {
            lazy.Keys(l).fill_(float.NaN);
            lazy.Values(l).fill_(float.NaN);
        }
        int[][] seqs = [TestModels.RandomTokens(9, 1), TestModels.RandomTokens(7, 2), TestModels.RandomTokens(4, 3)];
        var a = model.Step(lazy, seqs.Select((q, i) => new StepItem(i, 0, q)).ToArray());
        var b = model.Step(committed, seqs.Select((q, i) => new StepItem(i, 0, q)).ToArray());
        Assert.True(TestModels.MaxAbsDiff(a, b) <= 1e-5f);
        for (int t = 0; t < 3; t++)
        {
            // Lengths 9, 7 and 4 on neighbouring slots: one masked call whose shorter rows read past their ends.
            StepItem[] next = [new(0, 9 + t, [1 + t]), new(1, 7 + t, [2 + t]), new(2, 4 + t, [3 + t])];
            var x = model.Step(lazy, next);
            var y = model.Step(committed, next);
            Assert.False(x.isnan().any().item<bool>(), $"step {t}: NaN from the lazy cache");
            Assert.True(TestModels.MaxAbsDiff(x, y) <= 1e-5f, $"step {t}");
        }
    }

    [Fact]
    public void Token_log_probs_match_log_softmax_of_full_logits()
    {
        using var scope = NewDisposeScope();
        using var model = Qwen2Model.Random(Qwen2Config.Tiny(tied: false), 3);
        var ids = tensor(new long[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 }).reshape(2, 8);
        var targets = (ids + 1) % 300;
        var expected = model.Forward(ids).log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        var got = model.TokenLogProbs(ids, targets, chunk: 3);
        Assert.Equal(new long[] { 2, 8 }, got.shape);
        Assert.True(TestModels.MaxAbsDiff(got, expected) <= 1e-5f);
    }

    [Fact]
    public void Full_forward_supports_autograd_and_tied_weights_stay_tied()
    {
        using var scope = NewDisposeScope();
        using var model = Qwen2Model.Random(Qwen2Config.Tiny(tied: true), 3);
        Assert.DoesNotContain(model.state_dict().Keys, k => k.StartsWith("lm_head"));
        var ids = tensor(new long[] { 1, 2, 3, 4 }).unsqueeze(0);
        var loss = -model.TokenLogProbs(ids, tensor(new long[] { 2, 3, 4, 5 }).unsqueeze(0)).sum();
        loss.backward();
        var embedding = model.named_parameters().Single(p => p.name == "model.embed_tokens.weight").parameter;
        Assert.NotNull(embedding.grad);
        Assert.True(embedding.grad!.abs().sum().item<float>() > 0);
        // The output projection is the embedding's own storage: a change to one is a change to the other.
        using (no_grad()) embedding[5, 3] = embedding[5, 3] + 1.0f;
        Assert.Equal(embedding[5, 3].item<float>(), model.OutputWeight[5, 3].item<float>());
    }

    [Trait(TestModels.DeviceTrait, "any")]
    [Fact]
    public void Fused_step_projections_follow_every_write_to_the_parameters()
    {
        // The cached step multiplies by fused q/k/v and gate/up buffers that alias the separate parameters. Weights
        // arrive by in-place writes (checkpoint load, weight stream, optimiser): after each, the step must compute
        // with them, and the state dict must keep its Hugging Face names and shapes.
        using var scope = NewDisposeScope();
        using var model = Qwen2Model.Random(Qwen2Config.Tiny(), 21, TestModels.Device);
        using var source = Qwen2Model.Random(Qwen2Config.Tiny(), 22, TestModels.Device);
        Assert.Equal(source.state_dict().Keys.OrderBy(k => k), model.state_dict().Keys.OrderBy(k => k));
        using (no_grad())
            foreach (var (name, t) in source.state_dict()) model.state_dict()[name].copy_(t);
        int[] a = TestModels.RandomTokens(12, 5);
        using var cache = new KvCache(model.Config, slots: 1, maxLength: 16, device: TestModels.Device);
        var step = model.Step(cache, [new StepItem(0, 0, a)]);
        var expected = source.Forward(TestModels.IdsOnDevice(a))[0][^1];
        Assert.True(TestModels.MaxAbsDiff(step[0], expected) <= Tolerance);

        // An optimiser-style in-place update of one fused parameter (k_proj's bias) changes the step's result.
        using (no_grad()) model.state_dict()["model.layers.0.self_attn.k_proj.bias"].add_(0.5f);
        using var cache2 = new KvCache(model.Config, slots: 1, maxLength: 16, device: TestModels.Device);
        var moved = model.Step(cache2, [new StepItem(0, 0, a)]);
        var full = model.Forward(TestModels.IdsOnDevice(a))[0][^1];
        Assert.True(TestModels.MaxAbsDiff(moved[0], full) <= Tolerance);
        Assert.True(TestModels.MaxAbsDiff(moved[0], expected) > 1e-3f);
    }
}
