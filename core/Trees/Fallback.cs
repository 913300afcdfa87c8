namespace TreePO.Core.Trees;

/// <summary>
/// DFS fallback (docs/paper.md §2.6): when a root has no active path and still misses trajectories, finished paths donate
/// a prefix cut at a random segment boundary, and new branches continue from there (from <c>prompt + truncated
/// response</c>, not the donor's old context: docs/paper.md, deviation 4). Cut points are always segment-aligned, so the new branch's parent is an existing node.
/// </summary>
public static class Fallback
{
    /// <summary>Whether a finished trajectory may ever donate a prefix under the configured candidate policy.</summary>
    public static bool IsEligible(TreeConfig config, Trajectory t) => config.FallbackCandidates switch
    {
        FallbackCandidatePolicy.SoftBoxedAndEos => t.Stop is StopReason.Finished or StopReason.Eos,
        FallbackCandidatePolicy.BoxedAtLeastNSegments =>
            t.Stop == StopReason.Finished && t.ResponseLength >= (long)config.BoxedMinSegments * config.SegmentLength,
        _ => true,
    };

    /// <summary>The candidates of one fallback round, in the order they are used.</summary>
    public static List<Trajectory> Candidates(TreeConfig config, IReadOnlyList<Trajectory> finished, SeededRandom rng)
    {
        var eligible = finished.Where(t => IsEligible(config, t)).ToList();
        switch (config.FallbackCandidates)
        {
            case FallbackCandidatePolicy.FinishedFirst:
                return GumbelOrder(eligible, t => Math.Log(t.Stop.Priority()), rng);
            case FallbackCandidatePolicy.LongerFirst:
                return GumbelOrder(eligible, t => Math.Log(Math.Max(1, t.ResponseLength)), rng);
            case FallbackCandidatePolicy.FinishedFirstStrict:
                return eligible.OrderByDescending(t => t.Stop.Priority()).ToList(); // stable: ties keep finish order
            default:
                rng.Shuffle(eligible);
                return eligible;
        }
    }

    static List<Trajectory> GumbelOrder(List<Trajectory> items, Func<Trajectory, double> logWeight, SeededRandom rng)
    {
        var keyed = items.Select(t => (t, key: logWeight(t) + rng.NextGumbel())).ToList();
        return keyed.OrderByDescending(x => x.key).Select(x => x.t).ToList();
    }

    /// <summary>
    /// The depth to cut a candidate at (0 = restart from the prompt): B = ceil(L/l) segments, k uniform in
    /// 1..B (or 1..min(window, B)), cut after B − k segments; never at depth d or deeper.
    /// </summary>
    public static int CutDepth(TreeConfig config, int responseLength, SeededRandom rng)
    {
        if (responseLength <= 0) return 0;
        int segments = (int)((responseLength + (long)config.SegmentLength - 1) / config.SegmentLength);
        int maxBack = config.MaxFallbackWindow > 0 ? Math.Min(config.MaxFallbackWindow, segments) : segments;
        int k = rng.NextInclusive(1, maxBack);
        return Math.Min(segments - k, config.Depth - 1);
    }
}
