namespace TreePO.Grains.Engines;

/// <summary>What an engine backend reports about itself: its batching, KV and token counters. Cumulative counters
/// count since the engine was loaded.</summary>
/// <param name="QueueDepth">Requests waiting to join the running batch.</param>
/// <param name="LiveSlots">Sequences in the running batch (each holds a KV slot).</param>
/// <param name="MaxContext">The longest context plus segment the model accepts.</param>
[GenerateSerializer, Immutable, Alias("treepo.engine-counters")]
public sealed record EngineCounters(
    [property: Id(0)] int QueueDepth,
    [property: Id(1)] int LiveSlots,
    [property: Id(2)] long KvBytesUsed,
    [property: Id(3)] long KvBudgetBytes,
    [property: Id(4)] long Steps,
    [property: Id(5)] double MeanBatchSize,
    [property: Id(6)] int MaxBatchSize,
    [property: Id(7)] long PrefillTokens,
    [property: Id(8)] long DecodeTokens,
    [property: Id(9)] long ReusedTokens,
    [property: Id(10)] int PolicyVersion,
    [property: Id(11)] int MaxContext,
    [property: Id(12)] int LiveNodes)
{
    public long FreeKvBytes => Math.Max(0, KvBudgetBytes - KvBytesUsed);
}
