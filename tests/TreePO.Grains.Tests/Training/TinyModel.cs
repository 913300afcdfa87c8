using TreePO.Core.Tasks;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using TreePO.Engine.Tokenizer;

namespace TreePO.Grains.Tests.Training;

/// <summary>A tiny random Qwen2 model with a small byte-level BPE tokenizer trained on the built-in task's text,
/// in one folder (HF layout), made once per test process.</summary>
public static class TinyModel
{
    static readonly Lazy<string> dir = new(Write);
    public static string Dir => dir.Value;

    static string Write()
    {
        TorchRuntime.EnsureLoaded();
        string path = Directory.CreateTempSubdirectory("treepo-train-model-").FullName;
        var task = new ArithmeticTask(1);
        var corpus = task.Enumerate(TaskSplit.Train).Take(200).Select(p => p.Question + " " + p.Solution);
        var spec = ByteLevelBpeTrainer.Train(corpus, maxMerges: 30);
        ByteLevelBpeTrainer.Save(spec, path, modelMaxLength: 512);
        var tokenizer = HfTokenizer.Load(path);
        int imEnd = tokenizer.TokenToId("<|im_end|>")!.Value;
        Qwen2Checkpoint.WriteRandom(path, Qwen2Config.Tiny() with { EosTokenIds = [imEnd], BosTokenId = null }, seed: 5);
        return path;
    }
}
