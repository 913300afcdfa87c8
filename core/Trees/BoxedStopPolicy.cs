namespace TreePO.Core.Trees;

/// <summary>When a boxed answer in a segment stops its path.</summary>
public enum BoxedStopPolicy
{
    /// <summary>A boxed answer and an EOS in the same segment (released run).</summary>
    BoxedAndEosFirst,
    /// <summary>A boxed answer alone stops the path.</summary>
    BoxedAsEos,
}

/// <summary>Where the repetition check sits in the classification order (docs/paper.md §2.3).</summary>
public enum RepetitionPriority
{
    /// <summary>Last, after boxed, EOS, length and depth (released run).</summary>
    LeastPrioritized,
    /// <summary>First, before everything else.</summary>
    MostPrioritized,
}
