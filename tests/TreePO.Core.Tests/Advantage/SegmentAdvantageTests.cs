using TreePO.Testing;
using CsCheck;
using TreePO.Core.Advantage;
using TreePO.Core.Trees;

namespace TreePO.Core.Tests.Advantage;

/// <summary>The segment advantage against values worked out by hand, and its invariants on every tree shape.</summary>
public sealed class SegmentAdvantageTests
{
    static readonly AdvantageOptions Segment = new() { Estimator = AdvantageEstimator.Segment };

    static double[] RawOf(SegmentTree tree, string leaf) =>
        SegmentAdvantage.Raw(tree)[tree.Trajectories.ToList().FindIndex(t => t.Leaf.EndsWith("/" + leaf))];

    [Fact]
    public void Figure_3_each_node_against_the_alternatives_of_its_fork()
    {
        SegmentTree tree = HandTrees.Figure3();
        // c2,2: c (mean -1/3) against a and b (mean 0); c2 (1/3) against c1,1 c1,2 c3 (-1); c2,2 (1) against c2,1 c2,3 (0).
        Assert.Equal([-1.0 / 3, 4.0 / 3, 1], RawOf(tree, "c22"), Precision(12));
        // a against the seven others (sum -1).
        Assert.Equal([-1 + 1.0 / 7], RawOf(tree, "a"), Precision(12));
        // c1,1: c1 (-1) against c2's leaves and c3 (mean 0); c1,1 against c1,2, equal: 0.
        Assert.Equal([-1.0 / 3, -1, 0], RawOf(tree, "c11"), Precision(12));
        Assert.Equal([-1.0 / 3, -1 + 1.0 / 5], RawOf(tree, "c3"), Precision(12));
    }

    [Fact]
    public void Every_segment_of_an_unshared_stretch_is_credited_against_the_fork_it_left()
    {
        // root -> a -> {a1 -> a1x -> a1y (1), a2 (0)}: a1, a1x and a1y carry only the first trajectory.
        SegmentTree tree = HandTrees.Build("s", ("a", null, null), ("a1", "a", null), ("a2", "a", 0), ("a1x", "a1", null), ("a1y", "a1x", 1));
        // a holds every trajectory: no alternative, 0. Below the fork at a: 1 - 0 on each of the stretch's three
        // segments, not on the first alone; a2: 0 - 1.
        Assert.Equal([0, 1, 1, 1], RawOf(tree, "a1y"), Precision(12));
        Assert.Equal([0, -1], RawOf(tree, "a2"), Precision(12));
    }

    [Fact]
    public void Without_a_tree_it_is_rloo_and_everywhere_a_function_of_the_node() =>
        Gen.Int[1, 100_000].Sample(seed =>
        {
            var rng = new Random(seed);
            // Independent samples: R_i minus the mean of the others.
            double[] rewards = [.. Enumerable.Range(0, rng.Next(2, 9)).Select(_ => (double)rng.Next(2))];
            SegmentTree flat = HandTrees.Build("flat", [.. rewards.Select((r, i) => ($"l{i}", (string?)null, (double?)r))]);
            double[][] rloo = SegmentAdvantage.Raw(flat);
            for (int i = 0; i < rewards.Length; i++)
                Assert.Equal(rewards[i] - (rewards.Sum() - rewards[i]) / (rewards.Length - 1), rloo[i].Single(), 12);
            // In a tree, every trajectory through a node gives it the same value.
            SegmentTree tree = RandomTree(rng);
            double[][] raw = SegmentAdvantage.Raw(tree);
            var byNode = new Dictionary<string, double>();
            for (int i = 0; i < raw.Length; i++)
                for (int j = 1; j < tree.Trajectories[i].Path.Count; j++)
                {
                    string node = tree.Trajectories[i].Path[j];
                    if (byNode.TryGetValue(node, out double seen)) Assert.Equal(seen, raw[i][j - 1], 12);
                    byNode[node] = raw[i][j - 1];
                }
        }, iter: 200, seed: TreeAdvantageTests.PinnedSeed);

    [Fact]
    public void Whitening_runs_over_the_tokens_of_each_segment_and_the_trajectory_value_is_their_token_mean()
    {
        var rng = new Random(7);
        var trees = Enumerable.Range(0, 4).Select(_ => RandomTree(rng)).ToList();
        TreeAdvantage.Compute(trees, Segment);
        double n = 0, sum = 0, ss = 0;
        foreach (var tree in trees)
            foreach (var t in tree.Trajectories)
            {
                var lengths = tree.PathNodes(t).Skip(1).Select(x => x.Tokens.Length).ToArray();
                Assert.Equal(lengths.Length, t.SegmentAdvantages!.Length);
                Assert.Equal(lengths.Zip(t.SegmentAdvantages).Sum(p => p.First * p.Second) / lengths.Sum(), t.Advantage, 9);
                for (int j = 0; j < lengths.Length; j++) { n += lengths[j]; sum += lengths[j] * t.SegmentAdvantages[j]; }
            }
        double mean = sum / n;
        foreach (var tree in trees)
            foreach (var t in tree.Trajectories)
                foreach (var (len, a) in tree.PathNodes(t).Skip(1).Select(x => x.Tokens.Length).Zip(t.SegmentAdvantages!))
                    ss += len * (a - mean) * (a - mean);
        Assert.Equal(0, mean, 9);
        Assert.Equal(1, ss / (n - 1), 6);
        // The other estimators leave no segment values behind.
        TreeAdvantage.Compute(trees);
        Assert.All(trees.SelectMany(t => t.Trajectories), t => Assert.Null(t.SegmentAdvantages));
    }

    // A random tree of named nodes: each inner node forks into 1-3 children up to depth 5; rewards 0 or 1.
    static SegmentTree RandomTree(Random rng)
    {
        var spec = new List<(string, string?, double?)>();
        int counter = 0;
        void Grow(string? parent, int depth)
        {
            int children = rng.Next(1, 4);
            for (int c = 0; c < children; c++)
            {
                string name = $"n{counter++}";
                bool leaf = depth >= 5 || rng.NextDouble() < 0.3;
                spec.Add((name, parent, leaf ? rng.Next(2) : null));
                if (!leaf) Grow(name, depth + 1);
            }
        }
        Grow(null, 1);
        return HandTrees.Build($"r{rng.Next()}", [.. spec]);
    }

    static IEqualityComparer<double> Precision(int digits) => EqualityComparer<double>.Create((a, b) => Math.Round(a - b, digits) == 0, x => 0);
}
