using Orleans.Runtime;
using TreePO.Core.Reward;
using TreePO.Core.Trees;
using TreePO.Grains.Placement;
using TreePO.Grains.Routing;

namespace TreePO.Grains.Trees;

/// <summary>
/// Runs the core <see cref="TreeSampler"/> for one query with a segment generator that routes to engine
/// grains (<see cref="RoutedSegmentGenerator"/>: own engine kept for KV locality, failover with full context),
/// scores the leaves, releases every KV node it still holds, and returns the tree.
/// </summary>
public sealed class QueryTreeGrain(
    EngineRouter router, EngineLoadBoard board, ILocalSiloDetails local, TreeText text, IRewardFunction reward)
    : Grain, IQueryTreeGrain
{
    public async Task<TreeResult> RunAsync(TreeJob job, CancellationToken cancellationToken)
    {
        string treeId = this.GetPrimaryKeyString();
        var generator = new RoutedSegmentGenerator(router, board, GrainFactory, treeId);
        var sampler = new TreeSampler(job.Config(), generator, text.Decoder, text.EosIds);   // bad config: ArgumentException
        try
        {
            var tree = await sampler.RunAsync(job.Query, treeId, job.Seed, job.PolicyVersion, cancellationToken);
            tree.Score(reward, text.Decoder);
            var m = tree.Metrics;
            return new TreeResult(treeId, SiloKey.For(local.SiloAddress), TreeJson.Write(tree), m.Trajectories, m.Correct,
                m.GeneratedTokens, m.UniqueTokens, m.FallbackRatio, generator.Stats);
        }
        finally
        {
            await generator.CloseAsync();
        }
    }
}
