using TreePO.Core.Protocol;

namespace TreePO.Core.Trees;

/// <summary>
/// One node of a segment tree: the root holds the prompt (depth 0, no parent); every other node is one generated
/// segment. Immutable once created: a segment is classified the moment it arrives.
/// </summary>
/// <param name="Id">Unique cluster-wide: "{treeId}/root", then the parent's id + "/{round}-{k}".</param>
/// <param name="Tokens">The segment's token ids (the prompt for the root); EOS kept as the last token.</param>
/// <param name="LogProbs">Untempered log-probability of each token (empty for the root).</param>
/// <param name="Text">The decoded segment (empty for the root).</param>
/// <param name="Finish">Why the engine stopped the segment; null for the root.</param>
/// <param name="Stop">Set when this segment stopped its path (the node is then a leaf).</param>
/// <param name="PolicyVersion">The weight version that generated it (for the root: the version the tree asked for).</param>
/// <param name="FallbackFrom">For the first node of a fallback branch: the leaf whose prefix it continues (the root's
/// own id for a restart from the prompt when no finished path was a candidate).</param>
/// <param name="Round">The sampling round that produced it (0 for the root).</param>
/// <param name="ResponseLength">Response tokens from the root through this node.</param>
public sealed record TreeNode(
    string Id,
    string? ParentId,
    int Depth,
    int[] Tokens,
    float[] LogProbs,
    string Text,
    SegmentFinish? Finish,
    StopReason? Stop,
    int PolicyVersion,
    string? FallbackFrom,
    int Round,
    int ResponseLength)
{
    public bool IsRoot => ParentId is null;
    public bool IsLeaf => Stop is not null;
}
