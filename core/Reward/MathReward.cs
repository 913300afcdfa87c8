namespace TreePO.Core.Reward;

/// <summary>
/// The rule-based math reward (docs/paper.md §5): extract the answer, normalise both sides, compare exactly. Scores are
/// configurable: +1 / -1 as in the authors' runs by default, or 1 / 0. Ground truths may be GSM8K style
/// (<c>... #### 42</c>) or boxed. Never throws: any failure is a wrong answer.
/// </summary>
public sealed class MathReward(double correctScore = 1.0, double wrongScore = -1.0) : IRewardFunction
{
    /// <summary>Responses longer than this are judged on their last part only (the answer is at the end).</summary>
    public const int MaxResponseChars = 200_000;

    public double CorrectScore { get; } = correctScore;
    public double WrongScore { get; } = wrongScore;

    public static MathReward PlusMinusOne { get; } = new(1.0, -1.0);
    public static MathReward OneZero { get; } = new(1.0, 0.0);

    public RewardResult Score(string response, string answer)
    {
        string? extracted = null;
        try
        {
            response ??= string.Empty;
            if (response.Length > MaxResponseChars) response = response[^MaxResponseChars..];
            extracted = AnswerExtractor.Extract(response);
            bool correct = extracted is not null && MathEquivalence.AreEquivalent(extracted, GroundTruth(answer));
            return new RewardResult(correct, extracted, correct ? CorrectScore : WrongScore);
        }
        catch (Exception)
        {
            // A verifier that throws must not take a batch down: the answer is judged wrong.
            return new RewardResult(false, extracted, WrongScore);
        }
    }

    /// <summary>The answer part of a ground truth: after GSM8K's <c>####</c>, inside a boxed, or the whole text.</summary>
    public static string GroundTruth(string? answer)
    {
        if (string.IsNullOrEmpty(answer)) return string.Empty;
        int hashes = answer.LastIndexOf("####", StringComparison.Ordinal);
        if (hashes >= 0) return answer[(hashes + 4)..].Trim().Replace(",", "", StringComparison.Ordinal);
        return BoxedAnswer.FindLast(answer) ?? answer.Trim();
    }
}
