using TreePO.Core.Reward;

namespace TreePO.Hosting.Options;

/// <summary>Section "TreePO:Reward": how the math reward scores (docs/reward.md). The defaults keep the built-in
/// task's reward unchanged.</summary>
public sealed class RewardOptions
{
    /// <summary>Reward of a correct answer.</summary>
    public double CorrectScore { get; set; } = 1.0;

    /// <summary>Reward of a wrong or missing answer.</summary>
    public double WrongScore { get; set; } = -1.0;

    /// <summary>Only a \boxed{} answer counts (no "the answer is" or last-number fallback).</summary>
    public bool BoxedOnly { get; set; }

    /// <summary>DAPO's soft overlong penalty over the last this many tokens of the response budget; 0: off.</summary>
    public int OverlongBuffer { get; set; }

    /// <summary>The penalty at the end of the response budget (DAPO: 1).</summary>
    public double OverlongPenalty { get; set; } = 1.0;

    /// <summary>The reward's settings for a response budget of <paramref name="responseBudget"/> tokens.</summary>
    public RewardSettings ToSettings(int responseBudget) =>
        new(CorrectScore, WrongScore, BoxedOnly, OverlongBuffer, OverlongPenalty, responseBudget);
}
