namespace TreePO.Bench.Common;

/// <summary>
/// Untimed warm-up pairs (a tree run and a sequential run) until the JIT has settled: two pairs in a row during each
/// of which the JIT spent at most <see cref="SettledShare"/> of the pair's wall time (one quiet pair can fall between
/// two batches of promotions). One pair is not enough: tier-1 recompilation of
/// the engine's and the sampler's methods goes on for several seconds, and the first timed repetitions ran up to a
/// third slower than the later ones while it did.
/// </summary>
public static class JitWarmup
{
    public const double SettledShare = 0.01;

    public sealed record Result(int Pairs, bool Settled, JitActivity LastPair, double LastPairSeconds)
    {
        public string Describe() => Pairs == 0
            ? "warm-up: none (--warmup 0): the timed runs include the JIT's work, see jit_ms per run"
            : $"warm-up: {Pairs} pair(s) of untimed runs; " + (Settled
                ? $"JIT settled (last pair: {LastPair.Methods} methods, {LastPair.Milliseconds:F0} ms of {LastPairSeconds * 1000:F0} ms)"
                : $"JIT NOT settled after the limit (last pair: {LastPair.Methods} methods, {LastPair.Milliseconds:F0} ms of {LastPairSeconds * 1000:F0} ms): the timed runs include JIT work, see jit_ms per run");

        /// <summary>The line the benchmarks print: a warning colour when the JIT had not settled.</summary>
        public string Markup() => Settled
            ? Spectre.Console.Markup.Escape(Describe())
            : $"[yellow]{Spectre.Console.Markup.Escape(Describe())}[/]";

        public object ToJson() => new
        {
            pairs = Pairs,
            jit_settled = Settled,
            settled_share = SettledShare,
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
    public static async Task<Result> RunAsync(Func<int, Task<(JitActivity Jit, double Seconds)>> pair, int least, int most)
    {
        if (least <= 0) return new Result(0, false, default, 0);
        JitActivity last = default;
        double seconds = 0;
        int quiet = 0;
        for (int n = 1; n <= most; n++)
        {
            (last, seconds) = await pair(n);
            quiet = last.Milliseconds <= SettledShare * seconds * 1000 ? quiet + 1 : 0;
            if (n >= least && quiet >= 2) return new Result(n, true, last, seconds);
        }
        return new Result(most, false, last, seconds);
    }
}
