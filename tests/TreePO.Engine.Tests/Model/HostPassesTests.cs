using TreePO.Engine.Kv;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests.Model;

/// <summary>The cached step's passes over host memory (norms with their residual sums, the rotation with the K/V write,
/// SwiGLU) against the libtorch ops they replace, on the built-in shape's multiples of eight and on sizes that leave
/// scalar tails; and whole steps with the passes on and off.</summary>
public sealed class HostPassesTests
{
    public HostPassesTests() => TorchRuntime.EnsureLoaded();

    [Theory]
    [InlineData(128, 1)]
    [InlineData(20, 2)]     // 20 = two vectors and a tail of four
    public void The_norm_and_the_residual_sum_equal_libtorchs(int hidden, int seed)
    {
        using var scope = NewDisposeScope();
        var gen = new Generator((ulong)seed);
        var norm = new RmsNorm(hidden, 1e-6);
        using (no_grad()) norm.Weight.copy_(randn([hidden], generator: gen).Times(0.3).Plus(1));
        var x = randn([9, hidden], generator: gen).Times(3);
        var y = randn([9, hidden], generator: gen);
        using var noGrad = no_grad();
        Assert.True(RelDiff(HostNorm.Normalize(x, norm.Weight, 1e-6), norm.forward(x)) <= 1e-6f);
        var (sum, normed) = HostNorm.AddNormalize(x, y, norm.Weight, 1e-6);
        Assert.True(TestModels.MaxAbsDiff(sum, x.Plus(y)) == 0, "the residual sum rounds as libtorch's add");
        Assert.True(RelDiff(normed, norm.forward(x.Plus(y))) <= 1e-6f);
        Assert.Contains("does not match", Assert.Throws<ArgumentException>(() => HostNorm.Normalize(x, ones(hidden + 1), 1e-6)).Message);
    }

    [Theory]
    [InlineData(352, 3)]
    [InlineData(36, 4)]     // a tail of four
    public void SwiGlu_equals_silu_of_the_gate_times_up(int intermediate, int seed)
    {
        using var scope = NewDisposeScope();
        var gen = new Generator((ulong)seed);
        // Gate values far into both tails of the sigmoid, and around 0.
        var both = randn([7, 2 * intermediate], generator: gen).Times(8);
        var expected = nn.functional.silu(both.narrow(1, 0, intermediate)) * both.narrow(1, intermediate, intermediate);
        Assert.True(RelDiff(HostSwiGlu.Apply(both, intermediate), expected) <= 2e-6f);
    }

    [Theory]
    [InlineData(4, 2, 32, 5)]
    [InlineData(2, 1, 10, 6)]   // half a head of five: the scalar path
    public void The_rotation_equals_libtorchs_to_the_bit_and_keys_and_values_land_in_their_rows(int heads, int kvHeads, int headDim, int seed)
    {
        using var scope = NewDisposeScope();
        var gen = new Generator((ulong)seed);
        using var rope = new RotaryTable(headDim, 10000, 64, CPU);
        int n = 5, slots = 3, maxLen = 64;
        var all = randn([n, heads + 2 * kvHeads, headDim], generator: gen);
        long[] positions = [0, 7, 63, 12, 12];
        int[] rowSlot = [0, 2, 1, 0, 2];
        var writeRows = new long[n * kvHeads];
        for (int r = 0; r < n; r++)
            for (int h = 0; h < kvHeads; h++)
                writeRows[r * kvHeads + h] = ((long)rowSlot[r] * kvHeads + h) * maxLen + positions[r];
        var keys = zeros([slots * kvHeads * maxLen, headDim]);
        var values = zeros([slots * kvHeads * maxLen, headDim]);

        var q = HostRotary.Apply(all, heads, kvHeads, rope, positions, writeRows, keys, values);

        var at = tensor(positions);
        var rotated = RotaryTable.Apply(all.narrow(1, 0, heads + kvHeads), rope.Cos.index_select(0, at).unsqueeze(1),
            rope.SignedSin.index_select(0, at).unsqueeze(1));
        Assert.True(TestModels.MaxAbsDiff(q, rotated.narrow(1, 0, heads)) == 0, "queries");
        var rows = tensor(writeRows);
        Assert.True(TestModels.MaxAbsDiff(keys.index_select(0, rows), rotated.narrow(1, heads, kvHeads).reshape(n * kvHeads, headDim)) == 0, "keys");
        Assert.True(TestModels.MaxAbsDiff(values.index_select(0, rows), all.narrow(1, heads + kvHeads, kvHeads).reshape(n * kvHeads, headDim)) == 0, "values");
        Assert.Equal(n * kvHeads, keys.abs().sum(1).Above(0).sum().item<long>());   // nothing else written

        Assert.Contains("outside the cache", Assert.Throws<ArgumentException>(() =>
            HostRotary.Apply(all, heads, kvHeads, rope, positions, [.. writeRows[..^1], keys.shape[0]], keys, values)).Message);
        Assert.Contains("position 64", Assert.Throws<ArgumentException>(() =>
            HostRotary.Apply(all, heads, kvHeads, rope, [0, 1, 2, 3, 64], writeRows, keys, values)).Message);
    }

    /// <summary>Prefill chunks and decode rows on slots apart, through whole steps with the passes on and off: the same
    /// logits and the same K/V, and both the full recompute's.</summary>
    [Theory]
    [InlineData(64, 4, 2)]
    [InlineData(40, 4, 2)]      // head size 10: every pass's scalar tails
    public void Steps_with_the_host_passes_equal_steps_without_them(int hidden, int heads, int kvHeads)
    {
        using var scope = NewDisposeScope();
        var config = Qwen2Config.Tiny();
        config = config with { HiddenSize = hidden, NumAttentionHeads = heads, NumKeyValueHeads = kvHeads, IntermediateSize = hidden * 2 + 4 };
        using var model = Qwen2Model.Random(config, 23, CPU);
        using var hostCache = new KvCache(config, slots: 6, maxLength: 48);
        using var libCache = new KvCache(config, slots: 6, maxLength: 48);
        int[] slots = [0, 2, 5];
        int[][] seqs = [.. slots.Select((_, i) => TestModels.RandomTokens(30, 40 + i))];
        int[] lengths = [9, 14, 4];
        Tensor Run(KvCache cache, bool host, IReadOnlyList<StepItem> items)
        {
            model.HostPasses = host;
            return model.Step(cache, items);
        }
        var prefill = slots.Select((slot, i) => new StepItem(slot, 0, seqs[i][..lengths[i]])).ToArray();
        Assert.True(TestModels.MaxAbsDiff(Run(hostCache, true, prefill), Run(libCache, false, prefill)) <= 1e-5f);
        for (int t = 0; t < 4; t++)
        {
            var items = slots.Select((slot, i) => new StepItem(slot, lengths[i] + t, [seqs[i][lengths[i] + t]])).ToArray();
            var host = Run(hostCache, true, items);
            Assert.True(TestModels.MaxAbsDiff(host, Run(libCache, false, items)) <= 1e-5f, $"step {t}");
            for (int i = 0; i < slots.Length; i++)
            {
                var fresh = model.Forward(TestModels.IdsOnDevice(seqs[i][..(lengths[i] + t + 1)]))[0][-1];
                Assert.True(TestModels.MaxAbsDiff(host[i], fresh) <= 1e-4f, $"row {i}, step {t}");
            }
        }
        for (int l = 0; l < config.NumHiddenLayers; l++)
        {
            Assert.True(TestModels.MaxAbsDiff(hostCache.Keys(l), libCache.Keys(l)) <= 1e-5f, $"keys of layer {l}");
            Assert.True(TestModels.MaxAbsDiff(hostCache.Values(l), libCache.Values(l)) <= 1e-5f, $"values of layer {l}");
        }
    }

    static float RelDiff(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return ((a - b).abs() / (b.abs() + 1e-3)).max().item<float>();
    }
}
