using TreePO.Core.Protocol;

namespace TreePO.Grains.Engines;

/// <summary>An engine grain's statistics: its own request accounting, the engine's limit, and the engine's own
/// <see cref="EngineCounters"/> (the one statistics record of core/Protocol, as the engine reported it).</summary>
/// <param name="RequestsBySilo">Requests served, by the silo of the tree that sent them.</param>
/// <param name="TreesServed">Distinct trees that sent this engine at least one request.</param>
/// <param name="MaxSequenceLength">The longest path (context + segment) the engine holds; a request beyond it fails.</param>
/// <param name="MaxInFlight">The most requests this grain held at once (concurrency reaching the engine): at most
/// <paramref name="MaxQueuedRequests"/>.</param>
/// <param name="Queued">Requests waiting in the grain now for room in the engine's queue.</param>
/// <param name="MaxQueuedRequests">The bound on requests handed to the engine at once (Engine:MaxQueuedRequests).</param>
[GenerateSerializer, Immutable, Alias("treepo.engine-stats")]
public sealed record EngineStats(
    [property: Id(0)] string Engine,
    [property: Id(1)] long Requests,
    [property: Id(2)] long Failed,
    [property: Id(3)] long Cancelled,
    [property: Id(4)] int InFlight,
    [property: Id(5)] int MaxInFlight,
    [property: Id(6)] int TreesServed,
    [property: Id(7)] Dictionary<string, long> RequestsBySilo,
    [property: Id(8)] EngineCounters Counters,
    [property: Id(9)] int MaxSequenceLength,
    [property: Id(10)] int Queued = 0,
    [property: Id(11)] int MaxQueuedRequests = 0);
