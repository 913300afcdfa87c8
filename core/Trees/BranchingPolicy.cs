namespace TreePO.Core.Trees;

/// <summary>How a root's branch budget is split over its active paths (docs/paper.md §2.5).</summary>
public enum BranchingPolicy
{
    /// <summary><c>fixed_avg</c>: each path gets total/a, the last one also the remainder.</summary>
    EvenSplit,
    /// <summary>Softmax over a per-path log-prob score (<see cref="LogProbScore"/>), largest-remainder rounding.</summary>
    LogProb,
}
