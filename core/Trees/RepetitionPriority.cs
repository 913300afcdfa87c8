namespace TreePO.Core.Trees;

/// <summary>Where the repetition check sits in the classification order (docs/paper.md §2.3).</summary>
public enum RepetitionPriority
{
    /// <summary>Last, after boxed, EOS, length and depth (released run).</summary>
    LeastPrioritized,
    /// <summary>First, before everything else.</summary>
    MostPrioritized,
}
