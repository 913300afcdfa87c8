namespace TreePO.Core.Advantage;

/// <summary>Which advantage a batch gets: the tree advantage (TreePO, one value per trajectory), the plain GRPO group
/// advantage (baseline), or the segment advantage (one value per stretch of a path between forks,
/// <see cref="SegmentAdvantage"/>).</summary>
public enum AdvantageEstimator { Tree, Grpo, Segment }
