namespace TreePO.Grains.Engines;

/// <summary>What routing looks at when it picks an engine: work queued and running, trees holding KV, free KV.</summary>
[GenerateSerializer, Immutable, Alias("treepo.engine-load")]
public sealed record EngineLoad(
    [property: Id(0)] string Engine,
    [property: Id(1)] int InFlight,
    [property: Id(2)] int QueueDepth,
    [property: Id(3)] int LiveSlots,
    [property: Id(4)] long FreeKvBytes,
    [property: Id(5)] int ActiveTrees);
