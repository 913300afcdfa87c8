using TreePO.Core.Eval;
using TreePO.Core.Protocol;
using TreePO.Core.Reward;
using TreePO.Core.Trees;
using TreePO.Grains.Trees;

namespace TreePO.Grains.Training;

/// <summary>
/// A run's held-out evaluation: k independent samples per held-out query through the cluster (query-tree grains
/// "{run}-eval{step}/{query}", asked again if their silo dies), scored into mean@k, maj@k and pass@k. The same seed
/// per query at every evaluation, so the scores move with the policy, not with the sampling noise.
/// </summary>
public sealed class HeldOutEvaluation(IGrainFactory grains, IRewardFunction reward, TreeText text, RunSpec spec,
    SamplingParams rolloutSampling, IReadOnlyList<QueryItem> queries)
{
    readonly TreeConfig config = new EvalSettings(spec.EvalK, spec.EvalMaxTokens,
        new SamplingParams(spec.EvalTemperature, rolloutSampling.TopP, rolloutSampling.TopK)).ToTreeConfig();

    public async Task<EvalPoint> RunAsync(int atStep, int policyVersion, CancellationToken ct)
    {
        var results = await Task.WhenAll(queries.Select(q => TreeAsk.Default.RunAsync(grains, $"{spec.RunId}-eval{atStep}/{q.Id}",
            TreeJob.For(q, config, SeedMix.Derive(spec.Seed, "eval", q.Id), policyVersion, spec.RunId), cancellationToken: ct)));
        var samples = results.Select(r =>
        {
            var tree = TreeJson.Read(r.TreeLine);
            var scored = tree.Trajectories.Select(t => reward.Score(tree.ResponseText(t, text.Decoder), tree.Query.Answer)).ToList();
            return new QuerySamples(tree.Query.Id, scored.Select(x => x.Extracted).ToList(), scored.Select(x => x.Correct).ToList());
        }).ToList();
        var scores = SampleMetrics.Score(samples, spec.EvalK);
        return new EvalPoint(atStep, scores.MeanAtK, scores.MajAtK, scores.PassAtK, scores.Queries, scores.K);
    }
}
