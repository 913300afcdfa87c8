using TreePO.Core.Tasks;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using TreePO.Engine.Tokenizer;

namespace TreePO.Hosting.Models;

/// <summary>
/// A complete model folder with random weights, for cluster tests and for benchmarks when the built-in model is not
/// installed: a byte-level BPE trained on the built-in task's chat-formatted text, and a <see cref="Qwen2Config.Tiny"/>
/// Qwen2 whose vocabulary matches it, ending replies at &lt;|im_end|&gt; or &lt;|endoftext|&gt;. It writes random text,
/// but through exactly the path a trained model takes.
/// </summary>
public static class RandomTinyModel
{
    public static string Write(string dir, ulong seed = 1, int merges = 200, int problems = 300, int maxContext = 512)
    {
        TorchRuntime.EnsureLoaded();
        var task = new ArithmeticTask(seed);
        var corpus = Enumerable.Range(0, problems).Select(i => task.Generate(TaskSplit.Train, i))
            .Select(p => ChatFormat.PromptText(p.Question, systemPrompt: null) + p.Solution + ChatFormat.ImEnd);
        var spec = ByteLevelBpeTrainer.Train(corpus, merges);
        ByteLevelBpeTrainer.Save(spec, dir, modelMaxLength: maxContext);
        var tokenizer = HfTokenizer.FromSpec(spec);
        int Id(string token) => tokenizer.TokenToId(token) ?? throw new InvalidOperationException($"the trained tokenizer lacks {token}");
        var config = Qwen2Config.Tiny() with
        {
            VocabSize = tokenizer.VocabSize,
            MaxPositionEmbeddings = maxContext,
            EosTokenIds = [Id("<|endoftext|>"), Id(ChatFormat.ImEnd)],
            BosTokenId = null,
        };
        Qwen2Checkpoint.WriteRandom(dir, config, seed);
        return dir;
    }
}
