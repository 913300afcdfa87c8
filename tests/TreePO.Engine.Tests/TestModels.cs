using TreePO.Engine.Checkpoint;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests;

/// <summary>Tiny random models on disk and small tensor helpers shared by the engine tests.</summary>
internal static class TestModels
{
    public static string TempDir(string prefix = "treepo-model-") => Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>A fresh folder holding a random tiny model (GQA: 4 heads over 2 KV heads, vocab 300).</summary>
    public static string WriteTiny(ulong seed = 1, bool tied = true, Action<Qwen2Config>? check = null)
    {
        TorchRuntime.EnsureLoaded();
        string dir = TempDir();
        Qwen2Checkpoint.WriteRandom(dir, Qwen2Config.Tiny(tied), seed);
        return dir;
    }

    public static int[] RandomTokens(int count, int seed, int vocab = 298)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => rng.Next(vocab)).ToArray();
    }

    public static float MaxAbsDiff(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return (a - b).abs().max().item<float>();
    }

    public static Tensor Ids(int[] tokens) => tensor(tokens.Select(t => (long)t).ToArray()).unsqueeze(0);
}
