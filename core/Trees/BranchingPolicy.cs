namespace TreePO.Core.Trees;

/// <summary>How a root's branch budget is split over its active paths (docs/paper.md §2.5).</summary>
public enum BranchingPolicy
{
    /// <summary><c>fixed_avg</c>: each path gets total/a, the last one also the remainder.</summary>
    EvenSplit,
    /// <summary>Softmax over a per-path log-prob score (<see cref="LogProbScore"/>), largest-remainder rounding.</summary>
    LogProb,
}

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

/// <summary>Which paths the log-prob policy favours.</summary>
public enum LogProbDirection
{
    /// <summary>"Low Prob Encourage": shift = -(c - min c).</summary>
    LowProbEncouraged,
    /// <summary>"High Prob Encourage" (the <c>inverse_</c> variants): shift = +(c - min c).</summary>
    HighProbEncouraged,
}

/// <summary>The softmax temperature over training steps.</summary>
public enum TemperatureSchedule
{
    Constant,
    /// <summary>T = (mn+mx)/2 + (mx-mn)/2·sin(π·step/total + π/2): mx at step 0, mn at the end.</summary>
    SinusoidDescending,
    /// <summary>The mirror image: mn at step 0, mx at the end.</summary>
    SinusoidAscending,
}
