using TreePO.Engine.Checkpoint;
using TreePO.Engine.Kv;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests.Model;

/// <summary>A bf16 model: weights and K/V held as bf16, logits returned as fp32, and the cached, batched step against the
/// bf16 full recompute within bf16 rounding (the two paths round in different places).</summary>
public sealed class BFloat16ForwardTests
{
    public BFloat16ForwardTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void A_checkpoint_loaded_as_bf16_holds_the_fp32_weights_rounded_to_bf16()
    {
        using var scope = NewDisposeScope();
        string dir = TestModels.WriteTiny(seed: 5);
        using var fp32 = Qwen2Checkpoint.Load(dir);
        using var bf16 = Qwen2Checkpoint.Load(dir, dtype: ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, bf16.DType);
        var expected = fp32.state_dict();
        foreach (var (name, t) in bf16.state_dict())
        {
            Assert.Equal(ScalarType.BFloat16, t.dtype);
            Assert.True(t.eq(expected[name].to(ScalarType.BFloat16)).all().item<bool>(), name);
        }
        using var cache = new KvCache(bf16.Config, slots: 2, maxLength: 16, dtype: ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, cache.Keys(0).dtype);
        Assert.Equal(ScalarType.BFloat16, cache.Values(bf16.Config.NumHiddenLayers - 1).dtype);
        Assert.Equal(bf16.Config.KvBytesPerToken(ScalarType.Float32) / 2, cache.BytesPerToken);
        var logits = bf16.Step(cache, [new StepItem(0, 0, [1, 2, 3])]);
        Assert.Equal(ScalarType.Float32, logits.dtype);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Cached_bf16_prefill_and_decode_match_the_bf16_full_recompute(bool tied)
    {
        using var scope = NewDisposeScope();
        using var model = new Qwen2Model(Qwen2Config.Tiny(tied), dtype: ScalarType.BFloat16);
        model.Randomize(7);
        using var cache = new KvCache(model.Config, slots: 4, maxLength: 64, dtype: ScalarType.BFloat16);
        int[] a = TestModels.RandomTokens(40, 1);
        int[] b = TestModels.RandomTokens(30, 2);
        var fullA = model.Forward(TestModels.Ids(a))[0];
        var fullB = model.Forward(TestModels.Ids(b))[0];
        Assert.Equal(ScalarType.Float32, fullA.dtype);
        void Close(Tensor cached, Tensor full, string what)
        {
            float d = TestModels.MaxAbsDiff(cached, full);
            Assert.True(d <= Tolerance, $"{what}: {d}");
        }

        var l0 = model.Step(cache, [new StepItem(2, 0, a[..7]), new StepItem(0, 0, b[..12])]);
        Close(l0[0], fullA[6], "a, position 6");
        Close(l0[1], fullB[11], "b, position 11");
        var l1 = model.Step(cache, [new StepItem(2, 7, a[7..16])]);
        Close(l1[0], fullA[15], "a, position 15");
        for (int t = 0; t < 14; t++)
        {
            var l = model.Step(cache, [new StepItem(0, 12 + t, [b[12 + t]]), new StepItem(2, 16 + t, [a[16 + t]])]);
            Close(l[1], fullA[16 + t], $"a, position {16 + t}");
            Close(l[0], fullB[12 + t], $"b, position {12 + t}");
        }
    }

    /// <summary>bf16 keeps 8 significant bits: the tiny models' logits (magnitude 2 to 3) are rounded to 1/64, and the
    /// two paths round the residual stream and the attention in different places (up to 0.05 apart here). A cache
    /// error (a wrong row, a stale key) moves logits by far more.</summary>
    const float Tolerance = 0.1f;
}
