using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using TreePO.Core.Protocol;
using TreePO.Grains.Engines;
using TreePO.Grains.Resilience;

namespace TreePO.Grains.Routing;

/// <summary>
/// Picks an engine for a tree: an engine on the tree's own silo when there is one (and <see
/// cref="RoutingOptions.PreferLocal"/>), otherwise the cluster's; among them the one with the fewest of this silo's trees, then the least loaded. Ties break by a hash of (tree,
/// engine), so trees that start together spread over equal engines.
/// </summary>
public sealed class EngineRouter(EngineDirectory directory, EngineLoadBoard board, IGrainFactory grains, IOptions<RoutingOptions> options)
{
    readonly ConcurrentDictionary<string, int> bound = new();   // engine -> trees of this silo bound to it

    public RoutingOptions Options => options.Value;

    /// <summary>A tree of this silo now sends its requests to <paramref name="engine"/> (counted as load there).</summary>
    public void Bind(string engine) => bound.AddOrUpdate(engine, 1, (_, n) => n + 1);

    /// <summary>A tree of this silo left <paramref name="engine"/> (done, or failed over).</summary>
    public void Unbind(string engine) => bound.AddOrUpdate(engine, 0, (_, n) => Math.Max(0, n - 1));

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

    /// <summary>Waits for an engine (<see cref="RetryPolicy.EngineWait"/>) up to <see cref="RoutingOptions.EngineWaitTimeout"/>.</summary>
    public async Task<EngineAddress> PickAsync(string treeId, IReadOnlySet<string> exclude, CancellationToken cancellationToken)
    {
        var wait = RetryPolicy.EngineWait;
        var picked = await wait.UntilAsync(ct => TryPickAsync(treeId, exclude, ct), wait.Time.GetUtcNow() + options.Value.EngineWaitTimeout, cancellationToken);
        return picked ?? throw new NoEngineAvailableException(
            $"tree {treeId}: no engine available after {options.Value.EngineWaitTimeout.TotalSeconds:F0} s " +
            $"({directory.GetEngines().Count} engine(s) in the cluster, {exclude.Count} failed for this tree)");
    }

    async Task<EngineAddress?> TryPickAsync(string treeId, IReadOnlySet<string> exclude, CancellationToken cancellationToken)
    {
        var engines = directory.GetEngines().Where(e => !exclude.Contains(e.Key)).ToList();
        if (engines.Count == 0) return null;
        var local = engines.Where(e => e.Silo.Equals(directory.LocalSilo)).ToList();
        if (options.Value.PreferLocal && local.Count > 0)
            return Best(treeId, local.Select(e => (e, board.LocalLoad(e.Key))));
        var probed = await Task.WhenAll(engines.Select(e => ProbeAsync(e, cancellationToken)));
        var alive = probed.Where(p => p.Load is not null).ToList();
        return alive.Count > 0 ? Best(treeId, alive) : null;
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
            .OrderBy(c => bound.GetValueOrDefault(c.Engine.Key))
            .ThenBy(c => c.Load is { } l ? l.ActiveTrees + l.InFlight + l.QueueDepth : 0)
            .ThenBy(c => SeedMix.Derive(0, treeId, c.Engine.Key))
            .First().Engine;
}
