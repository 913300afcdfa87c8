using System.Collections.Concurrent;
using TreePO.Grains.Trees;

namespace TreePO.Bench.Common;

/// <summary>
/// Counts, per training run and step, the forward-pass tokens the engines computed for that step's rollout trees:
/// an incoming call filter on <see cref="IQueryTreeGrain.RunAsync"/> reads each tree's engine-reported prefill and
/// decode counts (<c>TreeResult.Routing</c>, the sum of every segment request's counts). The run grain names its
/// trees "{run}-s{step}/{query}" for rollouts and "{run}-eval{step}/{query}" for held-out evaluation, so the two are
/// told apart by key and evaluation is kept out of the training figures.
/// </summary>
public sealed class RolloutTokenCounter : IIncomingGrainCallFilter
{
    /// <summary>Tokens of one run's rollouts at one step (all filter rounds), or of one of its evaluations.</summary>
    public sealed record Tokens(long Prefill, long Decode, long Reused, long Generated, long Unique, int Trees)
    {
        public long Computed => Prefill + Decode;
        public Tokens Add(TreeResult r) => new(Prefill + r.Routing.PrefillTokens, Decode + r.Routing.DecodeTokens,
            Reused + r.Routing.ReusedTokens, Generated + r.GeneratedTokens, Unique + r.UniqueTokens, Trees + 1);
        public static readonly Tokens Zero = new(0, 0, 0, 0, 0, 0);
    }

    readonly ConcurrentDictionary<(string Run, bool Eval, int Step), Tokens> _counts = new();

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        await context.Invoke();
        if (context.Result is not TreeResult result) return;
        if (Parse(context.TargetId.Key.ToString()) is not { } key) return;   // not a training run's tree (tests, rollouts)
        _counts.AddOrUpdate(key, _ => Tokens.Zero.Add(result), (_, t) => t.Add(result));
    }

    /// <summary>"{run}-s{step}/{query}" or "{run}-eval{step}/{query}": (run, eval?, step); anything else: null.</summary>
    public static (string Run, bool Eval, int Step)? Parse(string key)
    {
        int slash = key.IndexOf('/');
        if (slash <= 0) return null;
        string batch = key[..slash];
        int dash = batch.LastIndexOf('-');
        if (dash <= 0) return null;
        string tail = batch[(dash + 1)..];
        bool eval = tail.StartsWith("eval", StringComparison.Ordinal);
        string digits = eval ? tail[4..] : tail.StartsWith('s') ? tail[1..] : "";
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit) || !int.TryParse(digits, out int step)) return null;
        return (batch[..dash], eval, step);
    }

    public Tokens Rollout(string run, int step) => _counts.GetValueOrDefault((run, false, step), Tokens.Zero);

    public Tokens Evaluation(string run, int step) => _counts.GetValueOrDefault((run, true, step), Tokens.Zero);
}
