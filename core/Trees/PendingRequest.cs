namespace TreePO.Core.Trees;

/// <summary>A request planned for the next round: continue node <c>ParentId</c> with <c>Branches</c> new segments.
/// <c>FallbackFrom</c> names the donor leaf when it is a fallback branch (the root for a restart from the
/// prompt; null for ordinary branching).</summary>
public sealed record PendingRequest(string ParentId, int Branches, string? FallbackFrom);
