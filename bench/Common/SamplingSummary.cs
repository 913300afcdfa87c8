namespace TreePO.Bench.Common;

/// <summary>
/// Tree over sequential, each the median over repetitions of the ratio within one repetition's pair.
/// <c>TokenBound</c> = sequential computed tokens / tree unique tokens: the speed-up a perfect engine would turn
/// the sharing into; <c>TokenBoundWithPrompt</c> adds each prompt once to the tree's side (what any tree must compute).
/// <c>TokenBoundCeiling</c> = tree unique / tree computed tokens: the share of <c>TokenBound</c> that an engine whose
/// time follows its computed tokens exactly (no fixed cost a step, the same cost a token at every batch) would reach,
/// since the tree computes its prompts, which the bound leaves out, and not its leaves' last tokens.
/// </summary>
public sealed record SamplingSummary(double TrajPerSecond, double GeneratedTokensPerSecond, double ComputedTokens,
    double InferenceCalls, double PaperTokenPs, double PeakRss, double TokenBound, double TokenBoundWithPrompt, double TokenBoundCeiling, (double TrajPerSecond, double ComputedTokens)? LowerBound,
    IReadOnlyList<Goal> Goals)
{
    public static SamplingSummary Of(IReadOnlyList<RunRecord> runs)
    {
        var tree = ByRepetition(runs, RunMode.Tree);
        var seq = ByRepetition(runs, RunMode.Sequential);
        int[] reps = tree.Keys.Intersect(seq.Keys).Order().ToArray();
        if (reps.Length == 0) throw new ArgumentException("no repetition has both a tree and a sequential run");
        double Ratio(Func<RunRecord, double> f) => Medians.OfRatios(reps.Select(r => f(tree[r])).ToList(), reps.Select(r => f(seq[r])).ToList());

        double traj = Ratio(r => r.TrajPerSecond);
        double computed = Ratio(r => r.ComputedTokens);
        double bound = Medians.OfRatios(reps.Select(r => (double)seq[r].ComputedTokens).ToList(), reps.Select(r => (double)tree[r].UniqueTokens).ToList());
        // The bound leaves the prompts out of the tree's side; a tree must prefill each prompt once too.
        double boundWithPrompt = Medians.OfRatios(reps.Select(r => (double)seq[r].ComputedTokens).ToList(),
            reps.Select(r => (double)(tree[r].UniqueTokens + tree[r].PromptTokens)).ToList());

        double ceiling = Medians.OfRatios(reps.Select(r => (double)tree[r].UniqueTokens).ToList(), reps.Select(r => (double)tree[r].ComputedTokens).ToList());

        (double, double)? lower = null;
        var none = ByRepetition(runs, RunMode.NoSharing);
        int[] lowerReps = none.Keys.Intersect(seq.Keys).Order().ToArray();
        if (lowerReps.Length > 0)
            lower = (Medians.OfRatios(lowerReps.Select(r => seq[r].TrajPerSecond).ToList(), lowerReps.Select(r => none[r].TrajPerSecond).ToList()),
                Medians.OfRatios(lowerReps.Select(r => (double)seq[r].ComputedTokens).ToList(), lowerReps.Select(r => (double)none[r].ComputedTokens).ToList()));

        return new SamplingSummary(traj, Ratio(r => r.GeneratedTokensPerSecond), computed, Ratio(r => r.InferenceCalls),
            Ratio(r => r.PaperTokenPs), Ratio(r => r.PeakRssBytes), bound, boundWithPrompt, ceiling, lower,
        [
            new Goal("tree traj/s over sequential", ">= 1.6", traj, traj >= 1.6),
            new Goal("tree traj/s ratio over token_bound", ">= 0.9", traj / bound, traj / bound >= 0.9),
            new Goal("tree computed tokens over sequential", "<= 0.6", computed, computed <= 0.6),
        ]);
    }

    static Dictionary<int, RunRecord> ByRepetition(IEnumerable<RunRecord> runs, RunMode mode) =>
        runs.Where(r => r.Mode == mode.Wire()).ToDictionary(r => r.Repetition);
}
