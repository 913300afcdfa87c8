namespace TreePO.Hosting.Options;

/// <summary>The reward of `treepo train` (section Reward). Its keys are added by the reward work; the section exists so
/// the options tree has one place for them.</summary>
public sealed class RewardOptions
{
}
