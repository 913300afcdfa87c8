using TreePO.Core.Protocol;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Tests.Engine;

/// <summary>Helpers for engine tests: a tiny random model on disk, engines over it, requests, and the reference
/// log-probs of a path computed by the full (uncached) forward.</summary>
internal static class EngineFixture
{
    /// <summary>A decoder for trees whose text does not matter (stops come from EOS, length and depth only).</summary>
    public sealed class NoText : TreePO.Core.Trees.ITextDecoder
    {
        public string Decode(IReadOnlyList<int> tokens) => "";
    }

    static readonly Lazy<string> tinyDir = new(() => TestModels.WriteTiny(seed: 77));
    public static string TinyDir => tinyDir.Value;

    public static InferenceEngine Start(string? dir = null, long budget = 64L << 20, int slots = 16, int prefillChunk = 16, IReadOnlyList<int>? eos = null,
        int maxSequenceLength = 0, string dtype = EngineOptions.Float32Name, bool? lazyKv = null) =>
        InferenceEngine.Load(new EngineOptions
        {
            ModelPath = dir ?? TinyDir, KvBudgetBytes = budget, MaxSlots = slots, PrefillChunk = prefillChunk, Threads = 2,
            EosTokenIds = eos ?? [], MaxSequenceLength = maxSequenceLength, DType = dtype, Device = TestModels.DeviceName,
            LazyKvMemory = lazyKv,
        });

    static int ids;
    public static string NewId(string prefix = "n") => $"{prefix}{Interlocked.Increment(ref ids)}";

    public static SegmentRequest Request(int[] context, int branches = 2, int maxTokens = 6, ulong seed = 1, string parent = "",
        SamplingParams? sampling = null, int version = -1) =>
        new("tree", parent, context.Length, context, Enumerable.Range(0, branches).Select(_ => NewId()).ToArray(), maxTokens,
            sampling ?? new SamplingParams(0.9f, 0.95f, 50), seed, version);

    /// <summary>A request identical to <paramref name="r"/> but with fresh child ids (same seed, so same tokens).</summary>
    public static SegmentRequest Again(SegmentRequest r) => r with { ChildNodeIds = r.ChildNodeIds.Select(_ => NewId()).ToArray() };

    /// <summary>log p(tokens | context) under the untempered model, by the full causal forward.</summary>
    public static float[] ReferenceLogProbs(string dir, int[] context, int[] tokens)
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var model = Qwen2Checkpoint.Load(dir, TestModels.Device);
        int[] path = [.. context, .. tokens];
        var ids = TestModels.IdsOnDevice(path[..^1]);
        var targets = TestModels.IdsOnDevice(path[1..]);
        var lp = model.TokenLogProbs(ids, targets)[0];
        return lp.narrow(0, context.Length - 1, tokens.Length).cpu().data<float>().ToArray();
    }

    public static void SameBranches(SegmentResult expected, SegmentResult actual, float tolerance = 1e-4f)
    {
        Assert.Equal(expected.Branches.Length, actual.Branches.Length);
        for (int i = 0; i < expected.Branches.Length; i++)
        {
            Assert.Equal(expected.Branches[i].Tokens, actual.Branches[i].Tokens);
            Assert.Equal(expected.Branches[i].Finish, actual.Branches[i].Finish);
            for (int t = 0; t < expected.Branches[i].LogProbs.Length; t++)
                Assert.True(Math.Abs(expected.Branches[i].LogProbs[t] - actual.Branches[i].LogProbs[t]) <= tolerance,
                    $"branch {i}, token {t}: {expected.Branches[i].LogProbs[t]} vs {actual.Branches[i].LogProbs[t]}");
        }
    }
}
