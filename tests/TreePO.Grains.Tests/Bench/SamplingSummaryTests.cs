using TreePO.Bench.Common;

namespace TreePO.Grains.Tests.Bench;

/// <summary>The tree-over-sequential figures `bench sampling` prints from its runs: medians of paired ratios, the
/// token bound, and the share of it an engine whose time follows its computed tokens could reach.</summary>
public sealed class SamplingSummaryTests
{
    static RunRecord Run(RunMode mode, int repetition, double wall, long prefill, long decode, long unique) =>
        new(mode.Wire(), repetition, 256, wall, unique, prefill, decode, 0, 0, unique, 600, 100, 1000, 1 << 20, 0, 40, 50, 0, 0,
            new Dictionary<string, int>());

    [Fact]
    public void The_ceiling_of_the_token_bound_goal_is_the_trees_unique_over_computed_tokens()
    {
        // Sequential computes 6,700 tokens in 0.2 s; the tree 3,600 or 3,700 (its 3,300 unique plus its prompts, less
        // its leaves' last tokens) at the same time a token: what an engine proportional to its tokens would do.
        var runs = new[]
        {
            Run(RunMode.Tree, 0, 0.2 * 3600 / 6700, 900, 2700, 3300),
            Run(RunMode.Sequential, 0, 0.2, 1200, 5500, 6400),
            Run(RunMode.Tree, 1, 0.2 * 3700 / 6700, 900, 2800, 3300),
            Run(RunMode.Sequential, 1, 0.2, 1200, 5500, 6400),
        };
        var s = SamplingSummary.Of(runs);

        Assert.Equal(6700.0 / 3300, s.TokenBound, 6);
        Assert.Equal((3300.0 / 3600 + 3300.0 / 3700) / 2, s.TokenBoundCeiling, 6);
        // Both repetitions run at exactly the sequential cost a token: traj/s over the bound is the ceiling itself.
        Assert.Equal((6700.0 / 3600 + 6700.0 / 3700) / 2, s.TrajPerSecond, 6);
        Assert.Equal(s.TokenBoundCeiling, s.Goals.Single(g => g.Name.Contains("token_bound")).Measured, 6);
    }
}
