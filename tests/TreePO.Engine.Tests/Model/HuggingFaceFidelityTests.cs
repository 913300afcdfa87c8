using System.Text.Json;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests.Model;

/// <summary>
/// The model against Hugging Face transformers' own output: checkpoints saved by transformers 5.17 with the logits
/// it computed for a fixed input (fixtures/hf-qwen2/SOURCE.md says how they were made).
/// </summary>
public sealed class HuggingFaceFidelityTests
{
    public HuggingFaceFidelityTests() => TorchRuntime.EnsureLoaded();

    sealed record Reference(int[] input_ids, float[][] logits, string transformers);

    [Theory]
    [InlineData("tied")]
    [InlineData("untied-sharded")]
    [InlineData("bf16")]
    public void Full_forward_matches_transformers_logits(string name)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "hf-qwen2", name);
        var reference = JsonSerializer.Deserialize<Reference>(File.ReadAllText(Path.Combine(dir, "reference_logits.json")))!;
        using var model = Qwen2Checkpoint.Load(dir);
        Assert.Equal(1_000_000, model.Config.RopeTheta);   // read from transformers 5's rope_parameters

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = tensor(reference.input_ids.Select(i => (long)i).ToArray()).unsqueeze(0);
        float[] got = model.Forward(ids).data<float>().ToArray();

        int vocab = reference.logits[0].Length;
        double worst = 0;
        for (int t = 0; t < reference.logits.Length; t++)
            for (int v = 0; v < vocab; v++)
                worst = Math.Max(worst, Math.Abs(got[t * vocab + v] - reference.logits[t][v]));
        Assert.True(worst <= 1e-4, $"{name}: max abs logit difference {worst:E2} against transformers {reference.transformers}");
    }

    [Fact]
    public void Token_log_probs_of_a_transformers_checkpoint_match_its_logits()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "hf-qwen2", "tied");
        var reference = JsonSerializer.Deserialize<Reference>(File.ReadAllText(Path.Combine(dir, "reference_logits.json")))!;
        using var model = Qwen2Checkpoint.Load(dir);
        using var scope = NewDisposeScope();
        // The uncached token log-probs path agrees with the logits (the trainer's path).
        var ids = tensor(reference.input_ids.Select(i => (long)i).ToArray()).unsqueeze(0);
        long t = ids.shape[1];
        float[] lp = model.TokenLogProbs(ids.narrow(1, 0, t - 1), ids.narrow(1, 1, t - 1)).data<float>().ToArray();
        for (int i = 0; i < t - 1; i++)
        {
            float[] row = reference.logits[i];
            double max = row.Max();
            double lse = max + Math.Log(row.Sum(x => Math.Exp(x - max)));
            Assert.Equal(row[reference.input_ids[i + 1]] - lse, lp[i], 4);
        }
    }
}
