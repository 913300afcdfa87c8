namespace TreePO.Core.Reward;

/// <summary>
/// The rule-based math reward (docs/reward.md, docs/paper.md §5): extract the answer (the last <c>\boxed{}</c>; unless
/// <see cref="RewardSettings.BoxedOnly"/>, else "the answer is ...", else the last number), then compare it with the
/// ground truth by meaning (<see cref="MathEquivalence"/>). Scores are configurable: +1 / -1 as in the authors' runs by
/// default, or 1 / 0; DAPO's overlong penalty is added to the score when the response length is known, and never
/// changes <see cref="RewardResult.Correct"/> (the filter's correctness). Ground truths may be GSM8K style
/// (<c>... #### 42</c>) or boxed. Never throws: any failure is a wrong answer.
/// </summary>
public sealed class MathReward : IRewardFunction
{
    /// <summary>Responses longer than this are judged on their last part only (the answer is at the end).</summary>
    public const int MaxResponseChars = 200_000;

    public MathReward(double correctScore = 1.0, double wrongScore = -1.0) : this(new RewardSettings(correctScore, wrongScore)) { }

    public MathReward(RewardSettings settings)
    {
        var errors = settings.Validate();
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors), nameof(settings));
        Settings = settings;
    }

    public RewardSettings Settings { get; }
    public double CorrectScore => Settings.CorrectScore;
    public double WrongScore => Settings.WrongScore;

    public static MathReward PlusMinusOne { get; } = new(1.0, -1.0);
    public static MathReward OneZero { get; } = new(1.0, 0.0);

    public RewardResult Score(string response, string answer) => Score(response, answer, -1);

    public RewardResult Score(string response, string answer, int responseTokens)
    {
        string? extracted = null;
        bool correct = false;
        try
        {
            response ??= string.Empty;
            if (response.Length > MaxResponseChars) response = response[^MaxResponseChars..];
            extracted = Settings.BoxedOnly ? BoxedAnswer.FindLast(AnswerExtractor.TrimToAssistantTurn(response))?.Trim()
                : AnswerExtractor.Extract(response);
            correct = extracted is not null && MathEquivalence.AreEquivalent(extracted, GroundTruth(answer));
        }
        catch (Exception)
        {
            // A verifier that throws must not take a batch down: the answer is judged wrong.
            correct = false;
        }
        return new RewardResult(correct, extracted, (correct ? CorrectScore : WrongScore) + Settings.OverlongTerm(responseTokens));
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
