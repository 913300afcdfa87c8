using TreePO.Testing;
using TreePO.Core.Advantage;
using TreePO.Core.Trees;
using TreePO.Engine.Training;
using TreePO.Grains.Training;

namespace TreePO.Grains.Tests.Training;

/// <summary>Each `--advantage` choice (and `--no-root`) on one fixed tree, against values worked out by hand.</summary>
public sealed class AdvantageChoiceTests
{
    // root -> a -> {a1: 1, a2: 1};  root -> b -> {b1: 1, b2: 0}.
    // Groups: root {1, 1, 1, 0} mean 3/4; a {1, 1} mean 1 (all equal); b {1, 0} mean 1/2.
    static SegmentTree Tree() => HandTrees.Build("t",
        ("a", null, null), ("b", null, null), ("a1", "a", 1), ("a2", "a", 1), ("b1", "b", 1), ("b2", "b", 0));

    static double[] Raw(string estimator, bool noRoot = false) => TreeAdvantage.Raw(Tree(), TrajectorySamples.AdvantageFor(estimator, noRoot));

    [Fact]
    public void Tree_is_the_plain_mean_of_the_root_and_subgroup_terms()
        // a1: (1 - 3/4 + 1 - 1) / 2;  b1: (1 - 3/4 + 1 - 1/2) / 2;  b2: (0 - 3/4 + 0 - 1/2) / 2
        => Assert.Equal([0.125, 0.125, 0.375, -0.625], Raw("tree"), Precision(9));

    [Fact]
    public void Size_weighted_weighs_each_term_by_its_group_size()
        // a1: (1/4 x 4 + 0 x 2) / 6;  b1: (1/4 x 4 + 1/2 x 2) / 6;  b2: (-3/4 x 4 - 1/2 x 2) / 6
        => Assert.Equal([1.0 / 6, 1.0 / 6, 2.0 / 6, -4.0 / 6], Raw("tree_size_weighted"), Precision(9));

    [Fact]
    public void Subgroup_reject_skips_the_group_whose_rewards_are_all_equal()
        // Group a {1, 1} is rejected: a1 and a2 keep only the root term 1/4; b is unchanged.
        => Assert.Equal([0.25, 0.25, 0.375, -0.625], Raw("tree_subgroup_reject"), Precision(9));

    [Fact]
    public void No_root_drops_the_root_term()
        // a1: 1 - 1;  b1: 1 - 1/2;  b2: 0 - 1/2
        => Assert.Equal([0, 0, 0.5, -0.5], Raw("tree", noRoot: true), Precision(9));

    [Fact]
    public void Group_is_grpo_over_the_query_whatever_the_tree()
    {
        // Rewards {1, 1, 1, 0}: mean 3/4, unbiased std 1/2: (r - 3/4) / (1/2 + 1e-6).
        var tree = Tree();
        TreeAdvantage.Compute([tree], TrajectorySamples.AdvantageFor("group"));
        double s = 0.5 + 1e-6;
        Assert.Equal([0.25 / s, 0.25 / s, 0.25 / s, -0.75 / s], tree.Trajectories.Select(t => t.Advantage), Precision(9));
        Assert.Throws<ArgumentException>(() => TrajectorySamples.AdvantageFor("group", noRoot: true));
        var e = Assert.Throws<ArgumentException>(() => TrajectorySamples.AdvantageFor("tree_sized"));
        Assert.Contains("tree_size_weighted", e.Message);
    }

    [Fact]
    public void Segment_gives_every_token_its_node_against_the_alternatives_of_its_fork()
    {
        // a (mean 1) against b's leaves (1/2) and b against a's; below a: 1 - 1 each; below b: 1 - 0 and 0 - 1.
        var tree = Tree();
        Assert.Equal([[0.5, 0], [0.5, 0], [-0.5, 1], [-0.5, -1]], SegmentAdvantage.Raw(tree),
            EqualityComparer<double[]>.Create((a, b) => a!.SequenceEqual(b!, Precision(9)), x => 0));
        var options = TrajectorySamples.AdvantageFor("segment");
        Assert.Equal(AdvantageEstimator.Segment, options.Estimator);
        var samples = TrajectorySamples.Build([tree], 0, options, out _);
        for (int i = 0; i < samples.Count; i++)
        {
            var segments = tree.Trajectories[i].SegmentAdvantages!;
            // Two tokens a segment in these trees: each token carries its own segment's whitened value.
            Assert.Equal(segments.SelectMany(a => new[] { (float)a, (float)a }), samples[i].TokenAdvantages!);
            Assert.Equal((float)tree.Trajectories[i].Advantage, samples[i].Advantage, 6);
        }
        Assert.Equal(AdvantageEstimator.Segment, TrainerGrain.Advantage(new TrainerSettings(Advantage: "segment")).Estimator);
        Assert.Throws<ArgumentException>(() => TrajectorySamples.AdvantageFor("segment", noRoot: true));
        Assert.Empty(TrainerGrain.SettingErrors(new TrainerSettings(Advantage: "segment")));
    }

    [Fact]
    public void The_trainer_uses_the_advantage_of_its_settings_and_the_algo_only_as_a_preset()
    {
        Assert.Equal("tree", new TrainerSettings(Algo: "treepo").ResolvedAdvantage);
        Assert.Equal("group", new TrainerSettings(Algo: "grpo").ResolvedAdvantage);
        Assert.Equal("group", new TrainerSettings(Algo: "treepo", Advantage: "group").ResolvedAdvantage);
        Assert.Equal(SubgroupWeighting.SizeWeighted, TrainerGrain.Advantage(new TrainerSettings(Advantage: "tree_size_weighted")).Weighting);
        Assert.False(TrainerGrain.Advantage(new TrainerSettings(NoRoot: true)).IncludeRoot);
        Assert.Contains(TrainerGrain.SettingErrors(new TrainerSettings(Advantage: "bogus")), e => e.StartsWith("Advantage:Estimator"));
    }

    static IEqualityComparer<double> Precision(int digits) => EqualityComparer<double>.Create((a, b) => Math.Round(a - b, digits) == 0, x => 0);
}
