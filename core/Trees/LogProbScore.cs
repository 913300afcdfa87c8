namespace TreePO.Core.Trees;

/// <summary>The per-path score c that the log-prob policy feeds into its softmax.</summary>
public enum LogProbScore
{
    /// <summary><c>logprob_weighted_div</c>: sum of all response token log-probs.</summary>
    Sum,
    /// <summary><c>norm_...</c>: mean of all response token log-probs.</summary>
    Mean,
    /// <summary><c>node_...</c>: mean over the last min(l, len) tokens, i.e. the last segment (the paper's).</summary>
    LastSegment,
}
