using TreePO.Core.Protocol;
using TreePO.Engine.Model;
using static TorchSharp.torch;
using static TreePO.Engine.Tests.Engine.EngineFixture;

namespace TreePO.Engine.Tests.Engine;

/// <summary>An engine with <see cref="EngineOptions.DType"/> bfloat16: half the K/V bytes a token, so twice the slots in
/// one budget, and log-probs within bf16 rounding of the fp32 model's (and not equal to them: bf16 really computed).</summary>
public sealed class BFloat16EngineTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_bf16_engine_holds_half_the_bytes_a_token_and_twice_the_slots()
    {
        long perToken = Qwen2Config.Tiny().KvBytesPerToken(ScalarType.Float32);
        long budget = 4 * 64 * perToken;
        // Slots at full length, as on a GPU (on a CPU every slot is allocated and the budget bounds the rows in use).
        await using var fp32 = Start(budget: budget, slots: 64, maxSequenceLength: 64, lazyKv: false);
        await using var bf16 = Start(budget: budget, slots: 64, maxSequenceLength: 64, dtype: EngineOptions.BFloat16Name, lazyKv: false);
        Assert.Equal(perToken, fp32.KvBytesPerToken);
        Assert.Equal(perToken / 2, bf16.KvBytesPerToken);
        Assert.Equal(4, fp32.Slots);
        Assert.Equal(8, bf16.Slots);
        var result = await bf16.GenerateAsync(Request(TestModels.RandomTokens(10, 3), branches: 8, maxTokens: 5)).WaitAsync(Timeout);
        Assert.All(result.Branches, b => Assert.Equal(5, b.Tokens.Length));
    }

    [Fact]
    public async Task Greedy_log_probs_of_a_bf16_engine_are_within_bf16_rounding_of_fp32()
    {
        await using var engine = Start(dtype: EngineOptions.BFloat16Name);
        int[] prompt = TestModels.RandomTokens(20, 31);
        var greedy = new SamplingParams(0f);
        var result = await engine.GenerateAsync(Request(prompt, branches: 1, maxTokens: 24, sampling: greedy)).WaitAsync(Timeout);
        var branch = result.Branches[0];
        Assert.Equal(24, branch.Tokens.Length);
        // The same tokens scored by the fp32 model's full forward.
        float[] reference = ReferenceLogProbs(TinyDir, prompt, branch.Tokens);
        float max = branch.LogProbs.Zip(reference, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(max < 0.1f, $"max abs log-prob difference {max}");
        Assert.True(max > 0f, "bit-identical to fp32: the engine did not compute in bf16");
    }

    /// <summary>A weight update (fp32 safetensors, as trainers send it) lands in the bf16 parameters, the fused
    /// projections included: the engine then scores like the new model.</summary>
    [Fact]
    public async Task A_bf16_engine_serves_fp32_weight_updates()
    {
        string otherDir = TestModels.WriteTiny(seed: 78);
        await using var engine = Start(dtype: EngineOptions.BFloat16Name);
        using (var weights = File.OpenRead(Path.Combine(otherDir, "model.safetensors")))
            await engine.LoadWeightsAsync(1, weights).WaitAsync(Timeout);
        int[] prompt = TestModels.RandomTokens(16, 32);
        var result = await engine.GenerateAsync(Request(prompt, branches: 1, maxTokens: 12, sampling: new SamplingParams(0f))).WaitAsync(Timeout);
        var branch = result.Branches[0];
        float[] reference = ReferenceLogProbs(otherDir, prompt, branch.Tokens);
        float max = branch.LogProbs.Zip(reference, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(max < 0.1f, $"max abs log-prob difference {max} from the new weights");
    }

    [Fact]
    public void An_unknown_dtype_is_refused_naming_the_option()
    {
        var e = Assert.Throws<ArgumentException>(() => InferenceEngine.Load(new EngineOptions { ModelPath = TinyDir, DType = "float16" }));
        Assert.Contains("EngineOptions.DType", e.Message);
        Assert.Contains("'float16'", e.Message);
    }

    [Fact]
    public void A_model_of_another_dtype_than_the_options_is_refused()
    {
        var model = Qwen2Model.Random(Qwen2Config.Tiny(), 3);
        try
        {
            var e = Assert.Throws<ArgumentException>(() => InferenceEngine.Create(model, new EngineOptions { DType = EngineOptions.BFloat16Name }));
            Assert.Contains("EngineOptions.DType", e.Message);
        }
        finally
        {
            model.Dispose();
        }
    }
}
