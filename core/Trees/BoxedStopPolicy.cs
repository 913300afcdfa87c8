namespace TreePO.Core.Trees;

/// <summary>When a boxed answer in a segment stops its path.</summary>
public enum BoxedStopPolicy
{
    /// <summary>A boxed answer and an EOS in the same segment (released run).</summary>
    BoxedAndEosFirst,
    /// <summary>A boxed answer alone stops the path.</summary>
    BoxedAsEos,
}
