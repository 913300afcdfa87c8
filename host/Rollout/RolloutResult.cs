using TreePO.Core.Trees;

namespace TreePO.Hosting.Rollout;

/// <summary>A finished rollout: the trees in input order, the summary, and the two files written.</summary>
public sealed record RolloutResult(RolloutSummary Summary, IReadOnlyList<SegmentTree> Trees, string TreesPath, string SummaryPath);
