using TreePO.Engine.Checkpoint;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests;

/// <summary>Tiny random models on disk and small tensor helpers shared by the engine tests.</summary>
internal static class TestModels
{
    public static string TempDir(string prefix = "treepo-model-") => TreePO.Testing.ScratchFolders.Create(prefix).FullName;

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

    /// <summary>The device the tests marked <see cref="DeviceTrait"/> run their models on: TREEPO_TEST_DEVICE ("cuda:0"
    /// on a GPU machine: scripts/gpu-checks.sh), the CPU by default.</summary>
    public static string DeviceName => Environment.GetEnvironmentVariable("TREEPO_TEST_DEVICE") is { Length: > 0 } d ? d : "cpu";

    public static Device Device => device(DeviceName);

    /// <summary>The trait of the tests that hold on any device ("Device" = "any"): the subset the GPU checks run.</summary>
    public const string DeviceTrait = "Device";

    /// <summary><see cref="Ids"/> on <see cref="Device"/>.</summary>
    public static Tensor IdsOnDevice(int[] tokens) => tensor(tokens.Select(t => (long)t).ToArray(), device: Device).unsqueeze(0);
}
