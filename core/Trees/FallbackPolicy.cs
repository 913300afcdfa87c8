namespace TreePO.Core.Trees;

/// <summary>Whether and where a root with no active path restarts finished paths (docs/paper.md §2.6).</summary>
public enum FallbackPolicy
{
    None,
    /// <summary>Cut a candidate at a random segment boundary: uniform over {0, l, ..., (B-1)·l}.</summary>
    Random,
}
