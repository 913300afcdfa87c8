namespace TreePO.Core.Trees;

/// <summary>
/// What one tree holds and cost. <c>GeneratedTokens</c> counts every trajectory's response in full (shared prefixes
/// once per leaf: what the trainer sees, and what sequential sampling would have decoded); <c>UniqueTokens</c>
/// counts each node once (what the tree actually decoded).
/// </summary>
/// <param name="DepthHistogram">Index j: trajectories whose leaf is at depth j (length d + 1).</param>
/// <param name="FinishCounts">Trajectories per stop reason (wire names: finished, eos, max_tokens, ...).</param>
/// <param name="FallbackTrajectories">Trajectories whose path contains a fallback branch.</param>
public sealed record TreeMetrics(
    int Trajectories,
    long GeneratedTokens,
    long UniqueTokens,
    int InferenceCalls,
    int Rounds,
    int FallbackCount,
    int FallbackTrajectories,
    double FallbackRatio,
    int FinishedAtFirstFallback,
    int[] DepthHistogram,
    IReadOnlyDictionary<string, int> FinishCounts,
    int Correct,
    long PrefillTokens,
    long DecodeTokens,
    long ReusedTokens,
    long RecomputedTokens = 0)
{
    public static TreeMetrics Of(SegmentTree tree)
    {
        var histogram = new int[tree.Config.Depth + 1];
        var finish = Enum.GetValues<StopReason>().ToDictionary(r => r.ToWire(), _ => 0);
        int fallbackTrajectories = 0;
        foreach (Trajectory t in tree.Trajectories)
        {
            if (t.Depth < histogram.Length) histogram[t.Depth]++;
            finish[t.Stop.ToWire()]++;
            if (t.Path.Any(id => tree.Node(id).FallbackFrom is not null)) fallbackTrajectories++;
        }
        int n = tree.Trajectories.Count;
        return new TreeMetrics(
            n,
            tree.Trajectories.Sum(t => (long)t.ResponseLength),
            tree.Nodes.Where(x => !x.IsRoot).Sum(x => (long)x.Tokens.Length),
            tree.Stats.InferenceCalls,
            tree.Stats.Rounds,
            tree.Stats.FallbackRequests,
            fallbackTrajectories,
            n == 0 ? 0 : (double)fallbackTrajectories / n,
            tree.Stats.FinishedAtFirstFallback,
            histogram,
            finish,
            tree.Trajectories.Count(t => t.Correct),
            tree.Stats.PrefillTokens,
            tree.Stats.DecodeTokens,
            tree.Stats.ReusedTokens,
            tree.Stats.RecomputedTokens);
    }
}
