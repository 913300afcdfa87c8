using Microsoft.Extensions.Configuration;
using TreePO.Core.Reward;
using TreePO.Hosting.Options;

namespace TreePO.Grains.Tests.Hosting;

public sealed class RewardOptionsTests
{
    static TreePOOptions Bind(Dictionary<string, string?> values) =>
        TreePOConfiguration.Bind(new ConfigurationBuilder().AddInMemoryCollection(values).Build());

    [Fact]
    public void Defaults_keep_the_reward_as_it_was()
    {
        Assert.Equal(new RewardSettings(ResponseBudget: 4 * 32), Bind([]).RewardSettings());
    }

    [Fact]
    public void Reward_section_binds_and_measures_the_penalty_against_the_tree_budget()
    {
        var (overrides, _) = TreePOConfiguration.SplitOverrides(
            ["--reward.boxedonly=true", "--reward.overlongbuffer=16", "--reward.overlongpenalty=0.5", "--reward.wrongscore=0", "--tree.maxresponsetokens=100"]);
        var settings = Bind(overrides).RewardSettings();
        Assert.Equal(new RewardSettings(1.0, 0.0, BoxedOnly: true, OverlongBuffer: 16, OverlongPenalty: 0.5, ResponseBudget: 100), settings);
        Assert.Equal(-0.25, settings.OverlongTerm(92), 12);
    }

    [Fact]
    public void Bad_reward_keys_are_refused_by_name()
    {
        var e = Assert.Throws<TreePOOptionsException>(() => Bind(new()
        {
            ["TreePO:Reward:BoxedOnely"] = "true",
            ["TreePO:Reward:OverlongBuffer"] = "500",
            ["TreePO:Reward:OverlongPenalty"] = "-1",
        }));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Reward:BoxedOnely: unknown key"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Reward:OverlongBuffer (500) must not exceed the response budget (128 tokens)"));
        Assert.Contains(e.Errors, x => x.StartsWith("TreePO:Reward:OverlongPenalty must be 0 or more"));
    }
}
