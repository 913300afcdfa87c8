namespace TreePO.Grains.Engines;

/// <summary>An engine grain's statistics: its own request accounting plus the backend's counters.</summary>
/// <param name="RequestsBySilo">Requests served, by the silo of the tree that sent them.</param>
/// <param name="TreesServed">Distinct trees that sent this engine at least one request.</param>
/// <param name="MaxInFlight">The most requests this grain held at once (concurrency reaching the engine).</param>
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
    [property: Id(8)] EngineCounters Counters);
