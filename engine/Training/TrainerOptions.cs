using TreePO.Engine.Native;

namespace TreePO.Engine.Training;

/// <summary>Optimiser and batching settings of the policy update (reference section 4, scaled to a laptop).</summary>
public sealed record TrainerOptions
{
    public double LearningRate { get; init; } = 1e-4;
    public double WeightDecay { get; init; } = 0.1;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double GradClip { get; init; } = 1.0;
    /// <summary>Optimiser steps over which the learning rate ramps linearly from 0; constant after.</summary>
    public int WarmupSteps { get; init; } = 5;
    /// <summary>Optimiser steps per training step: the batch is split into this many mini-batches.</summary>
    public int MiniBatches { get; init; } = 4;
    /// <summary>Upper bound on tokens per forward pass; a mini-batch is split into micro-batches under it.</summary>
    public int MicroBatchTokens { get; init; } = 4096;
    /// <summary>Most tokens of one piece of a packed tree (<see cref="PackedBatch.Pieces"/>): attention over a packed
    /// row costs its length squared whatever the tree mask allows, so a tree of long trajectories is cut into pieces
    /// that repeat their shared ancestors.</summary>
    public int PieceTokens { get; init; } = 512;
    public PolicyLossOptions Loss { get; init; } = new();
    /// <summary>Tree-packed update (<see cref="PackedBatch"/>): every shared prefix computed once, mini-batches made
    /// of whole trees. Off: one right-padded row per trajectory, mini-batches of shuffled trajectories.</summary>
    public bool Pack { get; init; }
    /// <summary>Take the old policy's log-probs from the samples (<see cref="TrainingSample.OldLogProbs"/>, the
    /// engine's) instead of recomputing them: saves the pass without gradient over mini-batches 2..M, but the result
    /// then depends, at float rounding level, on how the engine batched the rollout, so a resumed run no longer
    /// repeats an uninterrupted one bit for bit. Samples without them are always recomputed.</summary>
    public bool EngineOldLogProbs { get; init; }
    /// <summary>Where the training copy of the model, its optimiser state and every batch tensor live: "cpu", "cuda"
    /// or "cuda:N" (<see cref="DeviceName"/>). Checked here for its spelling; a CUDA device this process lacks is
    /// refused when the trainer starts.</summary>
    public string Device { get; init; } = "cpu";

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!(LearningRate > 0)) errors.Add($"Trainer:LearningRate must be > 0 (got {LearningRate})");
        if (WeightDecay < 0) errors.Add($"Trainer:WeightDecay must be >= 0 (got {WeightDecay})");
        if (!(GradClip > 0)) errors.Add($"Trainer:GradClip must be > 0 (got {GradClip})");
        if (WarmupSteps < 0) errors.Add($"Trainer:WarmupSteps must be >= 0 (got {WarmupSteps})");
        if (MiniBatches < 1) errors.Add($"Trainer:MiniBatches must be >= 1 (got {MiniBatches})");
        if (MicroBatchTokens < 1) errors.Add($"Trainer:MicroBatchTokens must be >= 1 (got {MicroBatchTokens})");
        if (PieceTokens < 1) errors.Add($"Trainer:PieceTokens must be >= 1 (got {PieceTokens})");
        if (Loss.EpsLow is <= 0 or >= 1) errors.Add($"Trainer:EpsLow must be in (0, 1) (got {Loss.EpsLow})");
        if (Loss.EpsHigh <= 0) errors.Add($"Trainer:EpsHigh must be > 0 (got {Loss.EpsHigh})");
        if (Loss.DualClip <= 1) errors.Add($"Trainer:DualClip must be > 1 (got {Loss.DualClip})");
        if (DeviceName.Problem(Device, "Trainer:Device") is { } device) errors.Add(device);
        return errors;
    }
}
