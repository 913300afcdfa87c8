using Microsoft.Extensions.Options;
using TreePO.Core.Protocol;
using TreePO.Grains.Engines;

namespace TreePO.Grains.Routing;

/// <summary>
/// Picks an engine for a tree: an engine on the tree's own silo when there is one (and <see
/// cref="RoutingOptions.PreferLocal"/>), otherwise the cluster's; among them the one with the fewest of this silo's trees, then the least loaded. Ties break by a hash of (tree,
/// engine), so trees that start together spread over equal engines.
/// </summary>
public sealed class EngineRouter(EngineDirectory directory, EngineLoadBoard board, IGrainFactory grains, IOptions<RoutingOptions> options)
{
    public RoutingOptions Options => options.Value;

    public string LocalSiloKey => Placement.SiloKey.For(directory.LocalSilo);

    /// <summary>The engines of the cluster now.</summary>
    public IReadOnlyList<EngineAddress> Engines => directory.GetEngines();

    /// <summary>The engine's step counter, or null when it is gone: its silo left the membership, or it gives no
    /// answer within <see cref="RoutingOptions.LoadProbeTimeout"/>. (The engine grain is reentrant: a busy engine
    /// still answers.)</summary>
    public async Task<long?> StepsAsync(EngineAddress engine, CancellationToken cancellationToken)
    {
        if (!directory.IsActive(engine.Silo)) return null;
        try
        {
            var stats = await grains.GetGrain<IEngineGrain>(engine.Key).GetStatsAsync().WaitAsync(options.Value.LoadProbeTimeout, cancellationToken);
            return stats.Counters.Steps;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    public async Task<EngineAddress> PickAsync(string treeId, IReadOnlySet<string> exclude, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + options.Value.EngineWaitTimeout;
        while (true)
        {
            var engines = directory.GetEngines().Where(e => !exclude.Contains(e.Key)).ToList();
            if (engines.Count > 0)
            {
                var local = engines.Where(e => e.Silo.Equals(directory.LocalSilo)).ToList();
                if (options.Value.PreferLocal && local.Count > 0)
                    return Best(treeId, local.Select(e => (e, board.LocalLoad(e.Key))));
                var probed = await Task.WhenAll(engines.Select(e => ProbeAsync(e, cancellationToken)));
                var alive = probed.Where(p => p.Load is not null).ToList();
                if (alive.Count > 0) return Best(treeId, alive);
            }
            if (DateTime.UtcNow >= deadline)
                throw new NoEngineAvailableException(
                    $"tree {treeId}: no engine available after {options.Value.EngineWaitTimeout.TotalSeconds:F0} s " +
                    $"({directory.GetEngines().Count} engine(s) in the cluster, {exclude.Count} failed for this tree)");
            await Task.Delay(100, cancellationToken);
        }
    }

    async Task<(EngineAddress Engine, EngineLoad? Load)> ProbeAsync(EngineAddress engine, CancellationToken cancellationToken)
    {
        if (engine.Silo.Equals(directory.LocalSilo) && board.LocalLoad(engine.Key) is { } known) return (engine, known);
        try
        {
            var load = await grains.GetGrain<IEngineGrain>(engine.Key).GetLoadAsync()
                .WaitAsync(options.Value.LoadProbeTimeout, cancellationToken);
            return (engine, load);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return (engine, null);   // unreachable or failing to load: not a candidate now
        }
    }

    /// <summary>The engine with the fewest of this silo's trees bound to it, then the least loaded: trees that start
    /// together take the engines in turn (ordered by their summed load, a burst of new trees all saw the same loads
    /// and the busiest of 32 engines served 1.26x the mean share in `bench scale`).</summary>
    EngineAddress Best(string treeId, IEnumerable<(EngineAddress Engine, EngineLoad? Load)> candidates) =>
        candidates
            .OrderBy(c => board.BoundTrees(c.Engine.Key))
            .ThenBy(c => c.Load is { } l ? l.ActiveTrees + l.InFlight + l.QueueDepth : 0)
            .ThenBy(c => SeedMix.Derive(0, treeId, c.Engine.Key))
            .First().Engine;
}

/// <summary>No engine can take a tree's requests: none in the cluster, or all failed for it.</summary>
[GenerateSerializer, Alias("treepo.no-engine")]
public sealed class NoEngineAvailableException : Exception
{
    public NoEngineAvailableException(string message) : base(message) { }
}
