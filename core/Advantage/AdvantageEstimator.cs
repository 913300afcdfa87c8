namespace TreePO.Core.Advantage;

/// <summary>Which advantage a batch gets: the tree advantage (TreePO) or the plain GRPO group advantage (baseline).</summary>
public enum AdvantageEstimator { Tree, Grpo }
