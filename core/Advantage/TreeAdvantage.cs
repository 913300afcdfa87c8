using TreePO.Core.Trees;

namespace TreePO.Core.Advantage;

/// <summary>
/// The tree advantage (docs/paper.md §3.2, <c>tree_reinforce_plus_plus_baseline</c>): for trajectory i, the terms
/// R_i − mean(R_G) over the root group (all of the query's trajectories) and every ancestor node's subgroup with more
/// than one trajectory, combined by mean or size-weighted mean; then whitened over all response tokens of the batch.
/// Subgroups are keyed by node id, which is unique, so depths never get confused (docs/paper.md, deviation 7).
/// </summary>
public static class TreeAdvantage
{
    /// <summary>Fills <see cref="Trajectory.RawAdvantage"/> and <see cref="Trajectory.Advantage"/> of every trajectory
    /// of the batch (and <see cref="Trajectory.SegmentAdvantages"/> for the segment estimator, null otherwise).
    /// Rewards must already be set (<see cref="SegmentTree.Score"/>).</summary>
    public static void Compute(IReadOnlyList<SegmentTree> trees, AdvantageOptions? options = null)
    {
        options ??= AdvantageOptions.Default;
        foreach (var t in trees.SelectMany(t => t.Trajectories)) t.SegmentAdvantages = null;
        if (options.Estimator == AdvantageEstimator.Segment)
        {
            SegmentAdvantage.Compute(trees, options);
            return;
        }
        if (options.Estimator == AdvantageEstimator.Grpo)
        {
            foreach (SegmentTree tree in trees)
            {
                double[] adv = GroupAdvantage.Compute(tree.Trajectories.Select(t => t.Reward).ToArray(),
                    options.GrpoEpsilon, options.GrpoNormalizeStd);
                for (int i = 0; i < adv.Length; i++)
                {
                    tree.Trajectories[i].RawAdvantage = adv[i];
                    tree.Trajectories[i].Advantage = adv[i];
                }
            }
            return;
        }

        foreach (SegmentTree tree in trees)
        {
            double[] raw = Raw(tree, options);
            for (int i = 0; i < raw.Length; i++) tree.Trajectories[i].RawAdvantage = raw[i];
        }
        var all = trees.SelectMany(t => t.Trajectories).ToList();
        double[] final = options.WhitenBatch
            ? Whiten(all.Select(t => t.RawAdvantage).ToArray(), all.Select(t => t.ResponseLength).ToArray(), options.WhitenEpsilon)
            : all.Select(t => t.RawAdvantage).ToArray();
        for (int i = 0; i < all.Count; i++) all[i].Advantage = final[i];
    }

    /// <summary>The per-trajectory advantage before batch normalisation, in trajectory order.</summary>
    public static double[] Raw(SegmentTree tree, AdvantageOptions? options = null)
    {
        options ??= AdvantageOptions.Default;
        var trajectories = tree.Trajectories;
        int n = trajectories.Count;
        var result = new double[n];
        if (n == 0) return result;

        // Every node's subgroup: the trajectories whose path runs through it.
        var groups = new Dictionary<string, Group>(StringComparer.Ordinal);
        foreach (Trajectory t in trajectories)
            for (int j = 1; j < t.Path.Count; j++)
            {
                if (!groups.TryGetValue(t.Path[j], out Group? g)) groups[t.Path[j]] = g = new Group();
                g.Add(t.Reward);
            }
        var root = new Group();
        foreach (Trajectory t in trajectories) root.Add(t.Reward);

        for (int i = 0; i < n; i++)
        {
            Trajectory t = trajectories[i];
            double sum = 0, weight = 0;
            int terms = 0;
            void Term(Group g)
            {
                double a = t.Reward - (g.Count > 1 ? g.Mean : 0);
                double w = options.Weighting == SubgroupWeighting.SizeWeighted ? g.Count : 1;
                sum += a * w;
                weight += w;
                terms++;
            }
            // The root term is always there (a root group of one has baseline 0), unless the ablation drops it.
            if (options.IncludeRoot) Term(root);
            for (int j = 1; j < t.Path.Count; j++)
            {
                Group g = groups[t.Path[j]];
                if (g.Count > 1 && !(options.RejectZeroStdSubgroups && g.AllEqual)) Term(g);
            }
            result[i] = terms == 0 ? 0 : sum / weight;
        }
        return result;
    }

    /// <summary>
    /// verl's masked_whiten over response tokens: value i stands for <paramref name="tokens"/>[i] tokens; subtract
    /// the token mean, divide by sqrt(unbiased token variance + eps).
    /// </summary>
    public static double[] Whiten(IReadOnlyList<double> values, IReadOnlyList<int> tokens, double epsilon = 1e-8)
    {
        if (values.Count != tokens.Count) throw new ArgumentException("values and tokens differ in length");
        long count = tokens.Sum(x => (long)Math.Max(0, x));
        var result = new double[values.Count];
        if (count == 0) return result;
        double mean = 0;
        for (int i = 0; i < values.Count; i++) mean += values[i] * Math.Max(0, tokens[i]);
        mean /= count;
        double ss = 0;
        for (int i = 0; i < values.Count; i++) ss += Math.Max(0, tokens[i]) * (values[i] - mean) * (values[i] - mean);
        double variance = count > 1 ? ss / (count - 1) : 0;
        // All values equal (and no epsilon): every deviation is zero, so the whitened values are too, not 0/0.
        double scale = variance + epsilon > 0 ? 1 / Math.Sqrt(variance + epsilon) : 0;
        for (int i = 0; i < values.Count; i++) result[i] = tokens[i] > 0 ? (values[i] - mean) * scale : 0;
        return result;
    }

    sealed class Group
    {
        double _sum, _first;
        public int Count { get; private set; }
        public bool AllEqual { get; private set; } = true;
        public double Mean => _sum / Count;

        public void Add(double r)
        {
            if (Count == 0) _first = r;
            else if (r != _first) AllEqual = false;
            _sum += r;
            Count++;
        }
    }
}
