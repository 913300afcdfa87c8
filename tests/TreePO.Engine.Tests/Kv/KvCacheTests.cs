using TreePO.Engine.Kv;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests.Kv;

/// <summary>The cache's queued copies land as if each had been made at once, and a cache within the KV budget is
/// committed when it is allocated.</summary>
public sealed class KvCacheTests
{
    public KvCacheTests() => TorchRuntime.EnsureLoaded();

    static void Fill(KvCache cache, int slot, int rows, int seed)
    {
        var gen = new Generator((ulong)seed);
        for (int l = 0; l < cache.Layers; l++)
        {
            cache.Keys(l)[slot].narrow(1, 0, rows).copy_(randn([cache.KvHeads, rows, cache.HeadDim], generator: gen));
            cache.Values(l)[slot].narrow(1, 0, rows).copy_(randn([cache.KvHeads, rows, cache.HeadDim], generator: gen));
        }
    }

    static bool Same(KvCache cache, int a, int b, int start, int count) => Enumerable.Range(0, cache.Layers).All(l =>
        cache.Keys(l)[a].narrow(1, start, count).eq(cache.Keys(l)[b].narrow(1, start, count)).all().item<bool>()
        && cache.Values(l)[a].narrow(1, start, count).eq(cache.Values(l)[b].narrow(1, start, count)).all().item<bool>());

    /// <summary>A fork's copy, then a copy out of the fork's slot (a chain), then a copy into a slot another queued copy
    /// reads: each reads what the copies before it wrote.</summary>
    [Fact]
    public void Queued_copies_read_what_earlier_copies_wrote()
    {
        using var scope = NewDisposeScope();
        using var cache = new KvCache(Qwen2Config.Tiny(), slots: 5, maxLength: 16);
        Fill(cache, 0, 12, 1);
        Fill(cache, 3, 12, 2);
        var slot3 = Enumerable.Range(0, cache.Layers).Select(l => cache.Keys(l)[3].narrow(1, 0, 12).clone()).ToArray();

        cache.CopyPrefix(0, 1, 12);   // a fork
        cache.CopyRows(1, 2, 4, 6);   // reads the fork's rows
        cache.CopyPrefix(3, 4, 12);   // slot 3 is read ...
        cache.CopyRows(0, 3, 0, 8);   // ... before it is overwritten

        Assert.True(Same(cache, 0, 1, 0, 12));
        Assert.True(Same(cache, 0, 2, 4, 6));
        Assert.True(Same(cache, 0, 3, 0, 8));
        for (int l = 0; l < cache.Layers; l++)
            Assert.True(cache.Keys(l)[4].narrow(1, 0, 12).eq(slot3[l]).all().item<bool>(), $"layer {l}: slot 4 holds slot 3's rows from before");
        Assert.Equal(4, cache.Copies);
    }

    /// <summary>A CPU cache's copies in host memory (row ranges, byte for byte) leave every buffer as libtorch's gather and
    /// scatter do, in fp32 and in bf16.</summary>
    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void Copies_in_host_memory_equal_libtorchs(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var config = Qwen2Config.Tiny();
        using var host = new KvCache(config, slots: 6, maxLength: 16, dtype: dtype);
        using var lib = new KvCache(config, slots: 6, maxLength: 16, dtype: dtype) { HostCopies = false };
        foreach (var cache in new[] { host, lib })
        {
            for (int slot = 0; slot < 3; slot++) Fill(cache, slot, 16, 10 + slot);
            cache.CopyPrefix(0, 3, 9);
            cache.CopyRows(1, 4, 5, 11);
            cache.CopyRows(3, 5, 2, 6);   // reads a queued copy's target: the queue lands first
            cache.CopyPrefix(2, 0, 16);   // overwrites a queued copy's source
            cache.Flush();
        }
        for (int l = 0; l < config.NumHiddenLayers; l++)
        {
            Assert.True(host.Keys(l).eq(lib.Keys(l)).all().item<bool>(), $"keys of layer {l}");
            Assert.True(host.Values(l).eq(lib.Values(l)).all().item<bool>(), $"values of layer {l}");
        }
        Assert.True(Same(host, 1, 4, 5, 11));
        Assert.True(Same(host, 2, 0, 0, 16));
    }

    /// <summary>A lazy cache zeroes a slot's rows as it first reaches them and never touches rows already written:
    /// written rows stay as they are, a gap below a write is zeroed, rows of a write that never happened are not taken
    /// for written ones, and a copy's target counts as written once the copy lands.</summary>
    [Fact]
    public void A_lazy_cache_zeroes_rows_as_slots_reach_them_and_keeps_what_was_written()
    {
        var config = Qwen2Config.Tiny();
        using var cache = new KvCache(config, slots: 3, maxLength: 16, committed: false);
        using var scope = NewDisposeScope();
        for (int l = 0; l < cache.Layers; l++)
        {
            cache.Keys(l).fill_(float.NaN);
            cache.Values(l).fill_(float.NaN);
        }
        Fill(cache, 0, 5, seed: 1);
        cache.Wrote(0, 5);
        var before = cache.Keys(1)[0].narrow(1, 0, 5).clone();
        cache.Reach(0, 9);
        Assert.True(TestModels.MaxAbsDiff(cache.Keys(1)[0].narrow(1, 0, 5), before) == 0, "written rows changed");
        for (int l = 0; l < cache.Layers; l++)
        {
            Assert.Equal(0f, cache.Keys(l)[0].narrow(1, 5, 4).abs().sum().item<float>());
            Assert.Equal(0f, cache.Values(l)[0].narrow(1, 5, 4).abs().sum().item<float>());
            Assert.True(cache.Keys(l)[0].narrow(1, 9, 7).isnan().all().item<bool>(), "rows past the reach are left alone");
        }

        cache.Reach(1, 3); // a write from row 3 (a step that then fails): the gap [0, 3) is zeroed, row 3 is not yet
        Assert.Equal(0f, cache.Keys(0)[1].narrow(1, 0, 3).abs().sum().item<float>());
        Assert.True(cache.Keys(0)[1].narrow(1, 3, 1).isnan().all().item<bool>());
        cache.Reach(1, 5); // never marked written: read later, rows [3, 5) are zeroed, not left as they were
        Assert.Equal(0f, cache.Keys(0)[1].narrow(1, 0, 5).abs().sum().item<float>());

        cache.CopyPrefix(0, 2, 5);
        cache.Reach(2, 6);
        Assert.True(TestModels.MaxAbsDiff(cache.Keys(1)[2].narrow(1, 0, 5), before) == 0, "the copy was overwritten");
        Assert.Equal(0f, cache.Keys(1)[2].narrow(1, 5, 1).abs().sum().item<float>());
    }

    /// <summary>Rows never written are read, masked out, by attention calls over neighbouring slots of different
    /// lengths: they must be finite (zeros), whatever the allocator returned before.</summary>
    [Fact]
    public void A_new_cache_holds_zeros_in_every_row()
    {
        var config = Qwen2Config.Tiny();
        for (int round = 0; round < 3; round++)
        {
            // Freed memory of the same size filled with NaN first: a cache allocated after it must not see them.
            using (var junk = full([4, config.NumKeyValueHeads, 16, config.HeadDim], float.NaN)) { }
            using var cache = new KvCache(config, slots: 4, maxLength: 16, dtype: round == 2 ? ScalarType.BFloat16 : ScalarType.Float32);
            using var scope = NewDisposeScope();
            for (int l = 0; l < cache.Layers; l++)
            {
                Assert.Equal(0f, cache.Keys(l).abs().sum().to(ScalarType.Float32).item<float>());
                Assert.Equal(0f, cache.Values(l).abs().sum().to(ScalarType.Float32).item<float>());
            }
        }
    }
}
