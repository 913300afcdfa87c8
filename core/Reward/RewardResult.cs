namespace TreePO.Core.Reward;

/// <summary>The verdict on one response: whether it is correct, the answer that was extracted from it (null when none
/// was found), and the scalar reward the advantage is computed from.</summary>
public sealed record RewardResult(bool Correct, string? Extracted, double Reward);
