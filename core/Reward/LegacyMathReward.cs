namespace TreePO.Core.Reward;

/// <summary>
/// The first math reward (last boxed, else "the answer is", else last number; text normalisation and exact values),
/// kept only for <c>bench reward</c>'s old-against-new comparison. Training, eval and <c>treepo score</c> use
/// <see cref="MathReward"/>.
/// </summary>
public sealed class LegacyMathReward(double correctScore = 1.0, double wrongScore = -1.0) : IRewardFunction
{
    public RewardResult Score(string response, string answer)
    {
        string? extracted = null;
        try
        {
            response ??= string.Empty;
            if (response.Length > MathReward.MaxResponseChars) response = response[^MathReward.MaxResponseChars..];
            extracted = AnswerExtractor.Extract(response);
            bool correct = extracted is not null && LegacyMathEquivalence.AreEquivalent(extracted, MathReward.GroundTruth(answer));
            return new RewardResult(correct, extracted, correct ? correctScore : wrongScore);
        }
        catch (Exception)
        {
            return new RewardResult(false, extracted, wrongScore);
        }
    }
}
