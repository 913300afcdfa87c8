namespace TreePO.Core.Advantage;

/// <summary>
/// The GRPO outcome advantage of one query's group (the sequential baseline): (r − mean) / (std + eps), with the
/// unbiased std; a group of one gets mean 0 and std 1 (verl's convention).
/// </summary>
public static class GroupAdvantage
{
    public static double[] Compute(IReadOnlyList<double> rewards, double epsilon = 1e-6, bool normalizeStd = true)
    {
        int n = rewards.Count;
        var result = new double[n];
        if (n == 0) return result;
        double mean = 0, std = 1;
        if (n > 1)
        {
            mean = rewards.Average();
            double ss = 0;
            foreach (double r in rewards) ss += (r - mean) * (r - mean);
            std = Math.Sqrt(ss / (n - 1));
        }
        for (int i = 0; i < n; i++) result[i] = normalizeStd ? (rewards[i] - mean) / (std + epsilon) : rewards[i] - mean;
        return result;
    }
}
