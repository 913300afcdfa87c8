using TreePO.Engine.Checkpoint;
using TreePO.Engine.Kv;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests.Model;

/// <summary>
/// The cached step multiplies by laid-out copies of the weights on a CPU (<see cref="StepMatrix"/>): the same products
/// as libtorch's <c>linear</c>, and never stale: after every way the weights are written in place (a whole load, a
/// staged update in chunks, new random weights) the step computes with the new weights, as a fresh model holding them.
/// </summary>
public sealed class StepMatrixTests
{
    public StepMatrixTests() => TorchRuntime.EnsureLoaded();

    [Theory]
    [InlineData(1, true)]
    [InlineData(7, false)]
    [InlineData(55, true)]
    public void The_product_equals_linear(int rows, bool biased)
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(3);
        var x = randn([rows, 48], generator: gen);
        var w = randn([80, 48], generator: gen);
        var b = biased ? randn([80], generator: gen) : null;
        using var m = new StepMatrix(() => w, () => b);
        var expected = nn.functional.linear(x, w, b);
        Assert.True(TestModels.MaxAbsDiff(m.Forward(x), expected) <= 1e-5f);
        Assert.True(TestModels.MaxAbsDiff(m.Forward(x), expected) <= 1e-5f);   // the copy, made once, again
    }

    /// <summary>Logits of one prompt, prefilled then decoded two tokens, on a fresh cache.</summary>
    static Tensor Logits(Qwen2Model model)
    {
        using var cache = new KvCache(model.Config, slots: 2, maxLength: 32);
        int[] ids = TestModels.RandomTokens(12, 5);
        var all = new List<Tensor> { model.Step(cache, [new StepItem(1, 0, ids[..10])]) };
        for (int t = 10; t < 12; t++) all.Add(model.Step(cache, [new StepItem(1, t, [ids[t]])]));
        return cat(all, 0);
    }

    static byte[] Safetensors(Qwen2Model m)
    {
        using var ms = new MemoryStream();
        Qwen2Checkpoint.WriteWeights(m, ms);
        return ms.ToArray();
    }

    [Theory]
    [InlineData("load")]
    [InlineData("staged")]
    [InlineData("randomize")]
    public void After_the_weights_change_the_step_computes_with_the_new_ones(string how)
    {
        using var scope = NewDisposeScope();
        using var engine = Qwen2Model.Random(Qwen2Config.Tiny(), 1);
        using var trained = Qwen2Model.Random(Qwen2Config.Tiny(), 2);
        var before = Logits(engine);   // the laid-out copies of seed 1's weights exist now
        var expected = Logits(trained);
        Assert.True(TestModels.MaxAbsDiff(before, expected) > 1e-2f, "the two models must differ for the test to mean anything");

        switch (how)
        {
            case "load":
                using (var stream = new MemoryStream(Safetensors(trained))) Qwen2Checkpoint.LoadWeights(engine, stream);
                break;
            case "staged":
                var snap = WeightSnapshot.Capture(1, trained.state_dict(), chunkBytes: 777);
                using (var staged = StagedWeights.Open(engine, 1, snap.Header, snap.TotalBytes))
                {
                    for (int i = 0; i < snap.ChunkCount; i++) staged.Write((long)i * snap.ChunkBytes, snap.Chunk(i));
                    staged.CopyInto(engine);
                }
                break;
            default:
                engine.Randomize(2);
                break;
        }
        Assert.True(TestModels.MaxAbsDiff(Logits(engine), expected) <= 1e-6f);
    }
}
