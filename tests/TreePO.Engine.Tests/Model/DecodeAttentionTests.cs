using TreePO.Engine.Model;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests.Model;

/// <summary>The host decode pass against libtorch's attention, row by row: any slots, any lengths, grouped queries, and
/// head sizes that do and do not fill whole vectors.</summary>
public sealed class DecodeAttentionTests
{
    public DecodeAttentionTests() => TorchRuntime.EnsureLoaded();

    [Theory]
    [InlineData(4, 2, 32, 1)]
    [InlineData(4, 2, 12, 2)]    // a head size that leaves a scalar tail after the vectors
    [InlineData(6, 6, 8, 3)]     // no grouping
    [InlineData(8, 1, 64, 4)]    // one KV head for all queries
    public void Each_row_equals_attention_over_its_own_slots_keys(int heads, int kvHeads, int headDim, int seed)
    {
        using var scope = NewDisposeScope();
        var gen = new TorchSharp.torch.Generator((ulong)seed);
        int slots = 7, maxLen = 50, n = 9;
        var keys = randn([slots, kvHeads, maxLen, headDim], generator: gen);
        var values = randn([slots, kvHeads, maxLen, headDim], generator: gen);
        // Queries from a wider tensor, so that they arrive with strides as the fused projection leaves them.
        var q = randn([n, heads + 3, headDim], generator: gen).narrow(1, 0, heads);
        var rng = new Random(seed);
        int[] rowSlots = [.. Enumerable.Range(0, n).Select(_ => rng.Next(slots))];
        int[] lengths = [.. Enumerable.Range(0, n).Select(i => i == 0 ? 1 : i == 1 ? maxLen : rng.Next(1, maxLen + 1))];

        var host = DecodeAttention.Attend(q, keys, values, rowSlots, lengths);
        Assert.Equal([n, heads * headDim], host.shape);
        int g = heads / kvHeads;
        float worst = 0;
        for (int i = 0; i < n; i++)
        {
            var k = keys[rowSlots[i]].narrow(1, 0, lengths[i]).repeat_interleave(g, 0);
            var v = values[rowSlots[i]].narrow(1, 0, lengths[i]).repeat_interleave(g, 0);
            var expected = nn.functional.scaled_dot_product_attention(q[i].unsqueeze(1), k, v).reshape(heads * headDim);
            worst = Math.Max(worst, (host[i] - expected).abs().max().item<float>());
        }
        Assert.True(worst <= 1e-5f, $"max |host - libtorch| = {worst}");
    }

    [Fact]
    public void A_row_outside_the_cache_is_refused_before_any_read()
    {
        using var scope = NewDisposeScope();
        var keys = zeros([2, 1, 8, 8]);
        var q = zeros([1, 2, 8]);
        Assert.Contains("slot 2", Assert.Throws<ArgumentException>(() => DecodeAttention.Attend(q, keys, keys, [2], [1])).Message);
        Assert.Contains("9 keys", Assert.Throws<ArgumentException>(() => DecodeAttention.Attend(q, keys, keys, [1], [9])).Message);
        Assert.Contains("fp32", Assert.Throws<ArgumentException>(() => DecodeAttention.Attend(q.to(ScalarType.BFloat16), keys, keys, [0], [1])).Message);
    }
}
