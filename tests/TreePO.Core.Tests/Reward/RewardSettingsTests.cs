using TreePO.Core.Reward;

namespace TreePO.Core.Tests.Reward;

public sealed class RewardSettingsTests
{
    [Fact]
    public void Boxed_only_refuses_the_unboxed_fallbacks()
    {
        var boxedOnly = new MathReward(new RewardSettings(BoxedOnly: true));
        Assert.False(boxedOnly.Score("so the answer is 17", "17").Correct);
        Assert.Null(boxedOnly.Score("we stopped at 17", "17").Extracted);
        Assert.True(boxedOnly.Score("so \\boxed{17}", "17").Correct);
        // The default keeps the built-in task's extraction (last number) unchanged.
        Assert.True(MathReward.PlusMinusOne.Score("we stopped at 17", "17").Correct);
    }

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(96, 0.0)]
    [InlineData(100, -0.125)]
    [InlineData(112, -0.5)]
    [InlineData(128, -1.0)]
    [InlineData(500, -1.0)]
    public void Overlong_penalty_is_dapos_linear_ramp(int tokens, double expected) =>
        Assert.Equal(expected, new RewardSettings(OverlongBuffer: 32, ResponseBudget: 128).OverlongTerm(tokens), 12);

    [Fact]
    public void Overlong_penalty_lowers_the_score_not_the_correctness()
    {
        var reward = new MathReward(new RewardSettings(OverlongBuffer: 32, OverlongPenalty: 0.5, ResponseBudget: 128));
        RewardResult r = reward.Score("\\boxed{4}", "4", responseTokens: 112);
        Assert.True(r.Correct);
        Assert.Equal(0.75, r.Reward, 12);
        Assert.Equal(1.0, reward.Score("\\boxed{4}", "4").Reward);   // length unknown: no penalty
        Assert.Equal(-1.5, reward.Score("\\boxed{5}", "4", responseTokens: 129).Reward, 12);
        IRewardFunction viaInterface = reward;
        Assert.Equal(0.75, viaInterface.Score("\\boxed{4}", "4", 112).Reward, 12);
    }

    [Fact]
    public void Bad_settings_name_their_option()
    {
        var errors = new RewardSettings(OverlongBuffer: 200, ResponseBudget: 128, OverlongPenalty: -1).Validate("Reward:");
        Assert.Contains(errors, e => e.StartsWith("Reward:OverlongBuffer", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Reward:OverlongPenalty", StringComparison.Ordinal));
        Assert.Throws<ArgumentException>(() => new MathReward(new RewardSettings(OverlongBuffer: -1)));
    }
}
