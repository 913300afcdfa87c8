namespace TreePO.Core.Trees;

/// <summary>
/// Budget transfer and the split of a root's branch budget over its active paths (docs/paper.md §2.5).
/// </summary>
public static class BranchingBudget
{
    /// <summary>
    /// How many copies a root's active paths get next round: finished paths donate their b branches, the total never
    /// exceeds the trajectories still missing, and every active path continues at least once.
    /// </summary>
    /// <param name="width">w.</param>
    /// <param name="branch">b.</param>
    /// <param name="finished">W: trajectories finished so far, this round included.</param>
    /// <param name="finishedThisRound">f.</param>
    /// <param name="active">a.</param>
    public static int Total(int width, int branch, int finished, int finishedThisRound, int active)
    {
        int remaining = Math.Max(width - finished, 0);
        long total = Math.Min(remaining, (long)finishedThisRound * branch + (long)active * branch);
        return (int)Math.Max(total, active);
    }

    /// <summary><c>fixed_avg</c>: every path gets max(1, total/a); the last path gets total/a plus the remainder.</summary>
    public static int[] EvenSplit(int total, int paths)
    {
        if (paths <= 0) return [];
        int avg = total / paths, rem = total % paths;
        var counts = new int[paths];
        for (int j = 0; j < paths; j++) counts[j] = Math.Max(1, avg);
        counts[^1] = Math.Max(1, avg + rem);
        return counts;
    }

    /// <summary>softmax(shift / T) with shift = ∓(c − min c): low scores gain under LowProbEncouraged.</summary>
    public static double[] Weights(IReadOnlyList<double> scores, LogProbDirection direction, double temperature)
    {
        if (scores.Count == 0) return [];
        double min = scores.Min();
        double sign = direction == LogProbDirection.LowProbEncouraged ? -1 : 1;
        var shifted = scores.Select(c => sign * (c - min) / temperature).ToArray();
        double max = shifted.Max();
        var e = shifted.Select(x => Math.Exp(x - max)).ToArray();
        double sum = e.Sum();
        return e.Select(x => x / sum).ToArray();
    }

    /// <summary>
    /// <c>weight_to_discrete_allocate</c>: every path gets 1, the other total − a copies go by floor(w·rest), and the
    /// leftover units to the largest fractional parts (ties: the earlier path).
    /// </summary>
    public static int[] LargestRemainder(IReadOnlyList<double> weights, int total)
    {
        int a = weights.Count;
        if (a == 0) return [];
        var counts = Enumerable.Repeat(1, a).ToArray();
        int rest = Math.Max(total - a, 0);
        var frac = new double[a];
        int given = 0;
        for (int i = 0; i < a; i++)
        {
            double share = weights[i] * rest;
            int whole = (int)Math.Floor(share);
            counts[i] += whole;
            given += whole;
            frac[i] = share - whole;
        }
        int left = rest - given;
        var order = Enumerable.Range(0, a).OrderByDescending(i => frac[i]).ThenBy(i => i).ToArray();
        for (int k = 0; k < left; k++) counts[order[k % a]]++;
        return counts;
    }

    /// <summary>The per-path score c of the log-prob policy.</summary>
    public static double Score(LogProbScore score, IReadOnlyList<float> responseLogProbs, int segmentLength)
    {
        int n = responseLogProbs.Count;
        if (n == 0) return 0;
        switch (score)
        {
            case LogProbScore.Sum:
                return responseLogProbs.Sum(x => (double)x);
            case LogProbScore.Mean:
                return responseLogProbs.Sum(x => (double)x) / n;
            default:
                int k = Math.Min(segmentLength, n);
                double s = 0;
                for (int i = n - k; i < n; i++) s += responseLogProbs[i];
                return s / k;
        }
    }
}
