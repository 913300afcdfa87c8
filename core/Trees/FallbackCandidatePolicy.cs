namespace TreePO.Core.Trees;

/// <summary>Which finished trajectories may donate a fallback prefix, and in which order.</summary>
public enum FallbackCandidatePolicy
{
    /// <summary>Ended with a boxed answer or EOS, shuffled (released run; paper §2.2).</summary>
    SoftBoxedAndEos,
    /// <summary>All finished, ordered by log(priority) + Gumbel noise.</summary>
    FinishedFirst,
    /// <summary>All finished, sorted by priority (ties by finish order).</summary>
    FinishedFirstStrict,
    /// <summary>All finished, shuffled.</summary>
    RandomAll,
    /// <summary>All finished, ordered by log(length) + Gumbel noise.</summary>
    LongerFirst,
    /// <summary>Ended with a boxed answer and at least <c>BoxedMinSegments</c> segments long, shuffled.</summary>
    BoxedAtLeastNSegments,
}
