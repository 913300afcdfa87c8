namespace TreePO.Grains.Engines;

/// <summary>What routing looks at when it picks an engine: work queued and running, trees holding KV, free KV. A load
/// signal read at every pick, distinct from the cumulative <see cref="EngineStats"/>; its engine fields carry the names
/// of <see cref="TreePO.Core.Protocol.EngineCounters"/>.</summary>
[GenerateSerializer, Immutable, Alias("treepo.engine-load")]
public sealed record EngineLoad(
    [property: Id(0)] string Engine,
    [property: Id(1)] int InFlight,
    [property: Id(2)] int QueueDepth,
    [property: Id(3)] int ActiveSequences,
    [property: Id(4)] long FreeKvBytes,
    [property: Id(5)] int ActiveTrees);
