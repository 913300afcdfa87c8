namespace TreePO.Bench.Common;

/// <summary>
/// Untimed warm-up pairs (a tree run and a sequential run; `bench training`: a TreePO and a GRPO run) until the JIT has
/// settled: two pairs in a row during each of which the JIT spent at most <see cref="SettledShare"/> (or the share the
/// caller gives) of the pair's wall time (one quiet pair can fall between two batches of promotions). One pair is not
/// enough: tier-1 recompilation of the engine's and the sampler's methods goes on for several seconds, and the first
/// timed repetitions ran up to a third slower than the later ones while it did.
/// </summary>
public static class JitWarmup
{
    public const double SettledShare = 0.01;

    public sealed record Result(int Pairs, bool Settled, JitActivity LastPair, double LastPairSeconds, double Share = SettledShare)
    {
        public string Describe() => Pairs == 0
            ? "warm-up: none: the timed runs include the JIT's work (reported with them)"
            : $"warm-up: {Pairs} pair(s) of untimed runs; " + (Settled
                ? $"JIT settled (last pair: {LastPair.Methods} methods, {LastPair.Milliseconds:F0} ms of {LastPairSeconds * 1000:F0} ms)"
                : $"JIT NOT settled after the limit (last pair: {LastPair.Methods} methods, {LastPair.Milliseconds:F0} ms of {LastPairSeconds * 1000:F0} ms): the timed runs include JIT work (reported with them)");

        /// <summary>The line the benchmarks print: a warning colour when the JIT had not settled.</summary>
        public string Markup() => Settled
            ? Spectre.Console.Markup.Escape(Describe())
            : $"[yellow]{Spectre.Console.Markup.Escape(Describe())}[/]";

        public object ToJson() => new
        {
            pairs = Pairs,
            jit_settled = Settled,
            settled_share = Share,
            last_pair_jit_methods = LastPair.Methods,
            last_pair_jit_ms = LastPair.Milliseconds,
            last_pair_wall_ms = LastPairSeconds * 1000,
        };
    }

    /// <summary>The default workload's pairs: a tree run, then a sequential run, each on a fresh engine.</summary>
    public static Task<Result> RunAsync(SamplingWorkload w, int least, int most) => RunAsync(async pair =>
    {
        var tree = await SamplingRunner.RunAsync(w, RunMode.Tree, -pair);
        var sequential = await SamplingRunner.RunAsync(w, RunMode.Sequential, -pair);
        return (tree.Jit + sequential.Jit, tree.WallSeconds + sequential.WallSeconds);
    }, least, most);

    /// <param name="pair">Runs warm-up pair number 1, 2, ...; returns what the JIT did during it and its wall seconds.</param>
    /// <param name="least">Pairs to run whatever the JIT does (0: none at all, and no settling either).</param>
    /// <param name="most">Pairs after which the timed runs start even if the JIT has not settled (said so).</param>
    /// <param name="share">The JIT's share of a pair's wall time under which the pair counts as quiet.</param>
    /// <param name="onPair">Told each pair's number, JIT activity and wall seconds (a progress line).</param>
    public static async Task<Result> RunAsync(Func<int, Task<(JitActivity Jit, double Seconds)>> pair, int least, int most,
        double share = SettledShare, Action<int, JitActivity, double>? onPair = null)
    {
        if (least <= 0) return new Result(0, false, default, 0, share);
        JitActivity last = default;
        double seconds = 0;
        int quiet = 0;
        for (int n = 1; n <= most; n++)
        {
            (last, seconds) = await pair(n);
            onPair?.Invoke(n, last, seconds);
            quiet = last.Milliseconds <= share * seconds * 1000 ? quiet + 1 : 0;
            if (n >= least && quiet >= 2) return new Result(n, true, last, seconds, share);
        }
        return new Result(most, false, last, seconds, share);
    }
}
