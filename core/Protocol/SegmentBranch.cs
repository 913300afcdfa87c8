namespace TreePO.Core.Protocol;

/// <summary>One generated segment. <see cref="LogProbs"/>[i] is the log-probability of <see cref="Tokens"/>[i] under
/// the model's untempered distribution (what the trainer compares against).</summary>
public sealed record SegmentBranch(string NodeId, int[] Tokens, float[] LogProbs, SegmentFinish Finish);
