namespace TreePO.Core.Trees;

/// <summary>Tree: segment trees with branching, budget transfer and fallback. Sequential: the baseline, w independent
/// samples that share only the prompt (one fork of w at the root), same budget and stop rules.</summary>
public enum SamplingMode { Tree, Sequential }
