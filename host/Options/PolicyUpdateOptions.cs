namespace TreePO.Hosting.Options;

/// <summary>How `treepo train`'s trainer runs the policy update (docs/training.md).</summary>
public sealed class PolicyUpdateOptions
{
    /// <summary>On: tree-packed (every shared token prefix computed once, for treepo and grpo alike). Off: one padded
    /// row per trajectory.</summary>
    public UpdatePacking Packing { get; set; } = UpdatePacking.On;

    /// <summary>Recompute: the trainer's own forward before the first update (the first mini-batch's from its own
    /// training pass; deterministic). Engine: the log-probs the engine returned with the samples (no pass at all).</summary>
    public OldLogProbSource OldLogProbs { get; set; } = OldLogProbSource.Recompute;

    // The wire record's defaults are the one source of the trainer's defaults.
    static readonly TreePO.Grains.Training.TrainerSettings Wire = new();

    /// <summary>AdamW peak learning rate, reached after <see cref="WarmupSteps"/> (constant after).</summary>
    public double LearningRate { get; set; } = Wire.LearningRate;
    /// <summary>Optimiser steps of linear warm-up from 0.</summary>
    public int WarmupSteps { get; set; } = Wire.WarmupSteps;
    public double WeightDecay { get; set; } = Wire.WeightDecay;
    /// <summary>Optimiser steps per training step (the batch split in this many mini-batches).</summary>
    public int MiniBatches { get; set; } = Wire.MiniBatches;
    /// <summary>Global gradient-norm clip.</summary>
    public double GradClip { get; set; } = Wire.GradClip;
    /// <summary>Most tokens per forward pass; a mini-batch is split into micro-batches under it.</summary>
    public int MicroBatchTokens { get; set; } = Wire.MicroBatchTokens;
    /// <summary>Most tokens of one piece of a packed tree: a tree whose packed tokens exceed it is cut into pieces
    /// that repeat their shared ancestors (a packed row's attention costs its length squared).</summary>
    public int PieceTokens { get; set; } = Wire.PieceTokens;
    /// <summary>Lower clip of the ratio: 1 - EpsLow.</summary>
    public double EpsLow { get; set; } = Wire.EpsLow;
    /// <summary>Upper clip of the ratio (DAPO's clip-higher): 1 + EpsHigh.</summary>
    public double EpsHigh { get; set; } = Wire.EpsHigh;
    /// <summary>Dual-clip bound of negative advantages.</summary>
    public double DualClip { get; set; } = Wire.DualClip;
    /// <summary>Torch threads of the trainer; 0: all cores.</summary>
    public int TorchThreads { get; set; } = Wire.TorchThreads;
    /// <summary>Where the trainer's model, optimiser state and batches live: "cpu", "cuda" or "cuda:N" (the silo that
    /// hosts the run must have that device; checked there when the trainer starts).</summary>
    public string Device { get; set; } = Wire.Device;

    /// <summary>The wire settings of these options for a run of <paramref name="algo"/>.</summary>
    public TreePO.Grains.Training.TrainerSettings ToSettings(string algo, string advantage = "", bool noRoot = false) => new(
        LearningRate: LearningRate, WeightDecay: WeightDecay, WarmupSteps: WarmupSteps, MiniBatches: MiniBatches, GradClip: GradClip,
        MicroBatchTokens: MicroBatchTokens, EpsLow: EpsLow, EpsHigh: EpsHigh, DualClip: DualClip, Algo: algo, TorchThreads: TorchThreads,
        Packing: Packing.ToString().ToLowerInvariant(), OldLogProbs: OldLogProbs.ToString().ToLowerInvariant(), Advantage: advantage, NoRoot: noRoot,
        Device: Device.ToLowerInvariant(), PieceTokens: PieceTokens);
}
