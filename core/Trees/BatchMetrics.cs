namespace TreePO.Core.Trees;

/// <summary>
/// A rollout batch's tree metrics summed, plus the ratios the authors log: <c>FallbackTreeRatio</c> (their
/// <c>prompt_fallback_ratio</c>: trees that needed a fallback), <c>FallbackTrajectoryRatio</c>, mean trajectories and
/// depth per tree, and <c>TokenSavings</c> = 1 − unique/generated (the decoding that prefix sharing saved).
/// </summary>
public sealed record BatchMetrics(
    int Trees,
    int Trajectories,
    long GeneratedTokens,
    long UniqueTokens,
    int InferenceCalls,
    int FallbackCount,
    double FallbackTreeRatio,
    double FallbackTrajectoryRatio,
    double MeanTrajectoriesPerTree,
    double MeanDepth,
    double TokenSavings,
    int[] DepthHistogram,
    IReadOnlyDictionary<string, int> FinishCounts,
    int Correct,
    long PrefillTokens,
    long DecodeTokens,
    long ReusedTokens,
    long RecomputedTokens = 0)
{
    public static BatchMetrics Of(IEnumerable<SegmentTree> trees)
    {
        var list = trees.Select(t => t.Metrics).ToList();
        int maxDepth = list.Count == 0 ? 0 : list.Max(m => m.DepthHistogram.Length);
        var histogram = new int[maxDepth];
        var finish = Enum.GetValues<StopReason>().ToDictionary(r => r.ToWire(), _ => 0);
        foreach (TreeMetrics m in list)
        {
            for (int j = 0; j < m.DepthHistogram.Length; j++) histogram[j] += m.DepthHistogram[j];
            foreach (var (k, v) in m.FinishCounts) finish[k] = finish.GetValueOrDefault(k) + v;
        }
        int trajectories = list.Sum(m => m.Trajectories);
        long generated = list.Sum(m => m.GeneratedTokens), unique = list.Sum(m => m.UniqueTokens);
        double depthSum = histogram.Select((c, j) => (double)c * j).Sum();
        return new BatchMetrics(
            list.Count,
            trajectories,
            generated,
            unique,
            list.Sum(m => m.InferenceCalls),
            list.Sum(m => m.FallbackCount),
            list.Count == 0 ? 0 : (double)list.Count(m => m.FallbackCount > 0) / list.Count,
            trajectories == 0 ? 0 : (double)list.Sum(m => m.FallbackTrajectories) / trajectories,
            list.Count == 0 ? 0 : (double)trajectories / list.Count,
            trajectories == 0 ? 0 : depthSum / trajectories,
            generated == 0 ? 0 : 1 - (double)unique / generated,
            histogram,
            finish,
            list.Sum(m => m.Correct),
            list.Sum(m => m.PrefillTokens),
            list.Sum(m => m.DecodeTokens),
            list.Sum(m => m.ReusedTokens),
            list.Sum(m => m.RecomputedTokens));
    }
}
