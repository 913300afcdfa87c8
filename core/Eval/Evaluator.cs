using System.Diagnostics;
using TreePO.Core.Protocol;
using TreePO.Core.Reward;
using TreePO.Core.Trees;

namespace TreePO.Core.Eval;

/// <summary>
/// Samples k answers per held-out query through any <see cref="ISegmentGenerator"/> (an engine in-process, or the
/// cluster's trees) and scores mean@k, maj@k and pass@k. Queries run concurrently so their requests share batches.
/// </summary>
public sealed class Evaluator(ISegmentGenerator generator, ITextDecoder decoder, IReadOnlySet<int> eosIds, IRewardFunction reward)
{
    public async Task<EvalReport> RunAsync(IReadOnlyList<QueryItem> queries, EvalSettings settings, ulong seed,
        string runId, int policyVersion = -1, CancellationToken cancellationToken = default)
    {
        if (settings.K < 1) throw new ArgumentOutOfRangeException(nameof(settings), $"Eval K must be at least 1, got {settings.K}");
        var sampler = new TreeSampler(settings.ToTreeConfig(), generator, decoder, eosIds);
        var clock = Stopwatch.StartNew();
        var results = new QuerySamples[queries.Count];
        long generated = 0;
        using var gate = new SemaphoreSlim(Math.Max(1, settings.Concurrency));
        await Task.WhenAll(queries.Select(async (q, i) =>
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                var tree = await sampler.RunAsync(q, $"{runId}/eval/{q.Id}", SeedMix.Derive(seed, "eval", q.Id), policyVersion, cancellationToken);
                var extracted = new string?[tree.Trajectories.Count];
                var correct = new bool[tree.Trajectories.Count];
                for (int t = 0; t < tree.Trajectories.Count; t++)
                {
                    var r = reward.Score(tree.ResponseText(tree.Trajectories[t], decoder), q.Answer);
                    extracted[t] = r.Extracted;
                    correct[t] = r.Correct;
                }
                Interlocked.Add(ref generated, tree.Trajectories.Sum(t => (long)t.ResponseLength));
                results[i] = new QuerySamples(q.Id, extracted, correct);
            }
            finally
            {
                gate.Release();
            }
        }));
        return new EvalReport(SampleMetrics.Score(results, settings.K), generated, clock.Elapsed.TotalSeconds, results);
    }
}
