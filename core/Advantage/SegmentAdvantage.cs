using TreePO.Core.Trees;

namespace TreePO.Core.Advantage;

/// <summary>
/// The segment advantage (docs/training.md, "The segment advantage"): credit where a path's outcome was decided, with
/// a leave-one-out baseline at every fork. A stretch of a path is a node together with the nodes above it that the
/// same trajectories run through; it starts at a fork u, the nearest ancestor through which more trajectories run.
/// A node v gets V(v) − B(v): V(v) is the mean reward of the trajectories through v, B(v) the mean reward of the
/// trajectories through u but not through v (the alternatives the fork produced). B never contains the rewards of
/// v's own subtree, so it does not depend on v's tokens, and it is not shrunk towards them as a mean including them
/// would be (a pair's tails get R_i − R_j, not half of it). Sampled without a tree (forks only at the prompt) this is
/// RLOO's R_i − mean of the others. A node through which every trajectory runs has no alternative and gets 0. Then
/// whitened over all response tokens of the batch, as the tree advantage is. (The authors' code has a per-segment
/// variant that differences adjacent segments' means, which leaves every unshared segment after the first at 0.)
/// </summary>
public static class SegmentAdvantage
{
    /// <summary>Per trajectory (trajectory order), one value per response node of its path (<c>Path[1..]</c>),
    /// before batch normalisation.</summary>
    public static double[][] Raw(SegmentTree tree)
    {
        var trajectories = tree.Trajectories;
        var sum = new Dictionary<string, double>(StringComparer.Ordinal);
        var count = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (Trajectory t in trajectories)
            foreach (string id in t.Path)
            {
                sum[id] = sum.GetValueOrDefault(id) + t.Reward;
                count[id] = count.GetValueOrDefault(id) + 1;
            }
        var result = new double[trajectories.Count][];
        for (int i = 0; i < trajectories.Count; i++)
        {
            var path = trajectories[i].Path;
            var values = new double[path.Count - 1];
            // Walking down, the fork is the last node with more trajectories than the current one.
            string fork = path[0];
            for (int j = 1; j < path.Count; j++)
            {
                string v = path[j];
                if (count[v] < count[path[j - 1]]) fork = path[j - 1];
                int others = count[fork] - count[v];
                values[j - 1] = others == 0 ? 0 : sum[v] / count[v] - (sum[fork] - sum[v]) / others;
            }
            result[i] = values;
        }
        return result;
    }

    /// <summary>Fills <see cref="Trajectory.SegmentAdvantages"/> (whitened over the response tokens of the whole
    /// batch) and, as summaries, <see cref="Trajectory.RawAdvantage"/> and <see cref="Trajectory.Advantage"/>: each
    /// trajectory's token mean of its raw and whitened values.</summary>
    public static void Compute(IReadOnlyList<SegmentTree> trees, AdvantageOptions options)
    {
        var values = new List<double>();
        var tokens = new List<int>();
        var raw = trees.Select(Raw).ToList();
        for (int k = 0; k < trees.Count; k++)
            for (int i = 0; i < trees[k].Trajectories.Count; i++)
            {
                var nodes = trees[k].PathNodes(trees[k].Trajectories[i]).Skip(1).ToList();
                for (int j = 0; j < nodes.Count; j++)
                {
                    values.Add(raw[k][i][j]);
                    tokens.Add(nodes[j].Tokens.Length);
                }
            }
        double[] final = options.WhitenBatch
            ? TreeAdvantage.Whiten(values, tokens, options.WhitenEpsilon)
            : [.. values];
        int at = 0;
        for (int k = 0; k < trees.Count; k++)
            for (int i = 0; i < trees[k].Trajectories.Count; i++)
            {
                Trajectory t = trees[k].Trajectories[i];
                int n = raw[k][i].Length;
                var segments = final.AsSpan(at, n).ToArray();
                var lengths = tokens.GetRange(at, n);
                t.SegmentAdvantages = segments;
                t.RawAdvantage = TokenMean(raw[k][i], lengths);
                t.Advantage = TokenMean(segments, lengths);
                at += n;
            }
    }

    static double TokenMean(double[] values, List<int> lengths)
    {
        long n = lengths.Sum(x => (long)x);
        if (n == 0) return 0;
        double s = 0;
        for (int j = 0; j < values.Length; j++) s += values[j] * lengths[j];
        return s / n;
    }
}
