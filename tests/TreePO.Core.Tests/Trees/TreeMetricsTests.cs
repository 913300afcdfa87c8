using TreePO.Core.Reward;
using TreePO.Core.Trees;
using static TreePO.Core.Tests.Trees.Trees;

namespace TreePO.Core.Tests.Trees;

public sealed class TreeMetricsTests
{
    [Fact]
    public async Task Tree_metrics_of_a_full_binary_tree()
    {
        // w = 4, d = 3, l = 2, no stops: 2 -> 4 -> 4 nodes; 4 trajectories of 6 tokens.
        var (tree, _) = await RunAsync(new TreeConfig { Width = 4, Depth = 3, SegmentLength = 2 }, Plain);
        TreeMetrics m = tree.Metrics;
        Assert.Equal(4, m.Trajectories);
        Assert.Equal(24, m.GeneratedTokens);
        Assert.Equal((2 + 4 + 4) * 2, m.UniqueTokens);
        Assert.Equal(1 + 2 + 4, m.InferenceCalls);
        Assert.Equal(3, m.Rounds);
        Assert.Equal([0, 0, 0, 4], m.DepthHistogram);
        Assert.Equal(4, m.FinishCounts["max_tokens"]);
        Assert.Equal(0, m.FinishCounts["eos"]);
        Assert.Equal(0, m.FallbackCount);
        Assert.Equal(0, m.FallbackRatio);
        Assert.Equal(-1, m.FinishedAtFirstFallback);
        Assert.Equal(10 * 2, m.DecodeTokens);
    }

    [Fact]
    public async Task Fallback_and_finish_counts_and_the_batch_sum()
    {
        var config = new TreeConfig { Width = 4, Depth = 3, SegmentLength = 2 };
        var (a, _) = await RunAsync(config, _ => new Seg("", Eos: true)); // every path ends at once: fallback fills w
        var (b, _) = await RunAsync(config, Plain);
        a.Score(MathReward.PlusMinusOne);
        TreeMetrics ma = a.Metrics;
        Assert.Equal(4, ma.Trajectories);
        Assert.Equal(4, ma.FinishCounts["eos"]);
        Assert.True(ma.FallbackCount >= 1);
        Assert.Equal(2, ma.FallbackTrajectories);
        Assert.Equal(0.5, ma.FallbackRatio);
        Assert.Equal(2, ma.FinishedAtFirstFallback);

        BatchMetrics batch = BatchMetrics.Of([a, b]);
        Assert.Equal(2, batch.Trees);
        Assert.Equal(8, batch.Trajectories);
        Assert.Equal(0.5, batch.FallbackTreeRatio);
        Assert.Equal(2.0 / 8, batch.FallbackTrajectoryRatio);
        Assert.Equal(4, batch.MeanTrajectoriesPerTree);
        Assert.Equal(ma.GeneratedTokens + b.Metrics.GeneratedTokens, batch.GeneratedTokens);
        Assert.Equal(1 - (double)batch.UniqueTokens / batch.GeneratedTokens, batch.TokenSavings, 12);
        Assert.Equal(4, batch.FinishCounts["eos"]);
        Assert.Equal(4, batch.FinishCounts["max_tokens"]);
        Assert.Equal((4 * 1 + 4 * 3) / 8.0, batch.MeanDepth);
    }
}
