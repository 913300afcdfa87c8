namespace TreePO.Engine.Training;

/// <summary>What one training step did. <see cref="Tokens"/>: trajectory tokens the loss counted (a shared token
/// once per trajectory). <see cref="UpdateTokens"/>: tokens the update's forward/backward passes computed (no
/// padding; <see cref="UpdatePaddedTokens"/> with it), against <see cref="UnpackedTokens"/>, the prompt + response
/// tokens of every sample (what the unpacked update computes). <see cref="OldLogProbTokens"/>: tokens run without
/// gradient to recompute old log-probs (0 when the engine's are used).</summary>
public sealed record PolicyStepStats(
    int Samples, int Tokens, int OptimizerSteps, double Loss, double ClipFraction, double DualClipFraction,
    double ApproxKl, double GradNorm, double LearningRate)
{
    public bool Packed { get; init; }
    public bool EngineOldLogProbs { get; init; }
    public long UpdateTokens { get; init; }
    public long UpdatePaddedTokens { get; init; }
    public long UnpackedTokens { get; init; }
    public long OldLogProbTokens { get; init; }
    /// <summary>Wall time of the update on the model thread.</summary>
    public double Seconds { get; init; }
}
