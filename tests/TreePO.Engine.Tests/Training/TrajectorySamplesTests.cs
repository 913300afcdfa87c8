using TreePO.Core.Advantage;
using TreePO.Core.Protocol;
using TreePO.Core.Trees;
using TreePO.Engine.Training;

namespace TreePO.Engine.Tests.Training;

public sealed class TrajectorySamplesTests
{
    // root [1 2 3] -> a [4 5] -> a1 [7] (+1), a2 [8 9] (-1);  root -> b [6] (-1). Segment versions given per node.
    static SegmentTree Tree(int versionA = 3, int versionA2 = 3, int versionB = 3)
    {
        const string id = "run-s1/q";
        TreeNode N(string name, string? parent, int depth, int[] tokens, int version, int len, bool leaf) =>
            new($"{id}/{name}", parent is null ? null : $"{id}/{parent}", depth, tokens, tokens.Select(_ => -1f).ToArray(), "x",
                depth == 0 ? null : SegmentFinish.Length, leaf ? StopReason.Eos : null, version, null, depth, len);
        var nodes = new[]
        {
            N("root", null, 0, [1, 2, 3], 3, 0, false),
            N("a", "root", 1, [4, 5], versionA, 2, false),
            N("b", "root", 1, [6], versionB, 1, true),
            N("a1", "a", 2, [7], 3, 3, true),
            N("a2", "a", 2, [8, 9], versionA2, 4, true),
        };
        Trajectory T(string leaf, int len, double reward, params string[] path) =>
            new($"{id}/{leaf}", path.Select(p => $"{id}/{p}").ToList(), StopReason.Eos, 1, len) { Reward = reward, Correct = reward > 0 };
        var trajectories = new[]
        {
            T("a1", 3, +1, "root", "a", "a1"),
            T("a2", 4, -1, "root", "a", "a2"),
            T("b", 1, -1, "root", "b"),
        };
        return new SegmentTree(id, new QueryItem("q", "?", "1", [1, 2, 3]), new TreeConfig { Width = 3, Depth = 2, SegmentLength = 2 },
            7, 3, nodes, trajectories);
    }

    [Fact]
    public void Tree_advantage_prompt_response_and_full_mask_per_trajectory()
    {
        var samples = TrajectorySamples.Build([Tree()], 3, TrajectorySamples.AdvantageFor("treepo"), out int empty);

        Assert.Equal(0, empty);
        Assert.Equal(3, samples.Count);
        Assert.All(samples, s => Assert.Equal([1, 2, 3], s.Prompt));
        Assert.Equal([4, 5, 7], samples[0].Response);
        Assert.Equal([4, 5, 8, 9], samples[1].Response);
        Assert.Equal([6], samples[2].Response);
        Assert.All(samples, s => Assert.Null(s.ResponseMask));   // every response token counts
        // By hand: root mean -1/3, subgroup a mean 0; a1 = mean(4/3, 1), a2 = mean(-2/3, -1), b = -2/3 (its own
        // node is a singleton). Then whitened over response tokens (3, 4 and 1 of them).
        double[] raw = [7.0 / 6, -5.0 / 6, -2.0 / 3];
        double[] expected = TreeAdvantage.Whiten(raw, [3, 4, 1]);
        for (int i = 0; i < 3; i++) Assert.Equal(expected[i], samples[i].Advantage, 5);
        Assert.True(samples[0].Advantage > 0 && samples[1].Advantage < 0);
    }

    [Fact]
    public void Grpo_gives_the_group_advantage_of_each_query()
    {
        var samples = TrajectorySamples.Build([Tree()], 3, TrajectorySamples.AdvantageFor("grpo"), out _);
        double[] expected = GroupAdvantage.Compute([1.0, -1.0, -1.0]);
        for (int i = 0; i < 3; i++) Assert.Equal(expected[i], samples[i].Advantage, 5);
    }

    [Theory]
    [InlineData(2, 3, 3, "a1")]
    [InlineData(3, 4, 3, "a2")]
    [InlineData(3, 3, 2, "/b")]
    public void A_segment_from_another_version_refuses_the_step(int a, int a2, int b, string culprit)
    {
        var e = Assert.Throws<InvalidOperationException>(() =>
            TrajectorySamples.Build([Tree(a, a2, b)], 3, TrajectorySamples.AdvantageFor("treepo"), out _));
        Assert.Contains(culprit, e.Message);
        Assert.Contains("version 3", e.Message);
    }

    [Fact]
    public void An_unknown_algorithm_is_named()
    {
        var e = Assert.Throws<ArgumentException>(() => TrajectorySamples.AdvantageFor("ppo"));
        Assert.Contains("ppo", e.Message);
    }
}
