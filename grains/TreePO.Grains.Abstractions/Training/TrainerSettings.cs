namespace TreePO.Grains.Training;

/// <summary>The policy update's settings on the wire (engine's TrainerOptions, reference section 4) plus the
/// advantage estimator: "treepo" (tree advantage, batch-whitened) or "grpo" (group advantage per query).
/// <c>WeightChunkBytes</c>: the size of the chunks engines pull weights in (under Orleans' 100 MiB message limit).
/// <c>Packing</c>: "on" (tree-packed update: every shared token prefix computed once) or "off" (one padded row
/// per trajectory).
/// <c>OldLogProbs</c>: "recompute" (the trainer's own forward before the first update, folded into the first
/// mini-batch's pass) or "engine" (the log-probs the engine returned with the samples).
/// <c>Advantage</c>: the estimator, chosen apart from the sampling (empty: the one <c>Algo</c> presets);
/// <c>NoRoot</c>: the tree advantage without the root group's term.
/// <c>Device</c>: where the trainer's model and optimiser live, "cpu", "cuda" or "cuda:N" (the trainer's silo must
/// have it).
/// <c>PieceTokens</c>: the most tokens of one packed piece of a tree (a larger tree is cut into pieces).</summary>
[GenerateSerializer, Immutable, Alias("treepo.trainer-settings")]
public sealed record TrainerSettings(
    [property: Id(0)] double LearningRate = 1e-4,
    [property: Id(1)] double WeightDecay = 0.1,
    [property: Id(2)] int WarmupSteps = 5,
    [property: Id(3)] int MiniBatches = 4,
    [property: Id(4)] double GradClip = 1.0,
    [property: Id(5)] int MicroBatchTokens = 4096,
    [property: Id(6)] double EpsLow = 0.2,
    [property: Id(7)] double EpsHigh = 0.28,
    [property: Id(8)] double DualClip = 10.0,
    [property: Id(9)] string Algo = "treepo",
    [property: Id(10)] int TorchThreads = 0,
    [property: Id(11)] int WeightChunkBytes = 16 << 20,
    [property: Id(12)] string Packing = "on",
    [property: Id(13)] string OldLogProbs = "recompute",
    [property: Id(14)] string Advantage = "",
    [property: Id(15)] bool NoRoot = false,
    [property: Id(16)] string Device = "cpu",
    [property: Id(17)] int PieceTokens = 512)
{
    /// <summary>The advantage estimator the update uses: <see cref="Advantage"/> when set (tree, tree_size_weighted,
    /// tree_subgroup_reject, group, segment), else the one <see cref="Algo"/> presets (treepo: tree, grpo: group).</summary>
    public string ResolvedAdvantage => string.IsNullOrEmpty(Advantage) ? (Algo.Equals("grpo", StringComparison.OrdinalIgnoreCase) ? "group" : "tree") : Advantage;
}
