using TreePO.Core.Protocol;

namespace TreePO.Grains.Engines;

// The engine's statistics record (core/Protocol/EngineCounters.cs) crosses the grain boundary as it is; these
// surrogates tell Orleans how to write it and its step-time buckets on the wire. One small file: they belong together.

[GenerateSerializer, Immutable, Alias("treepo.engine-counters")]
public readonly record struct EngineCountersSurrogate(
    [property: Id(0)] int PolicyVersion,
    [property: Id(1)] int Slots,
    [property: Id(2)] int LiveSlots,
    [property: Id(3)] int ActiveSequences,
    [property: Id(4)] int ActiveRequests,
    [property: Id(5)] int CachedNodes,
    [property: Id(6)] long KvBytesUsed,
    [property: Id(7)] long KvBudgetBytes,
    [property: Id(8)] int QueueDepth,
    [property: Id(9)] long PrefillTokens,
    [property: Id(10)] long DecodeTokens,
    [property: Id(11)] long ReusedTokens,
    [property: Id(12)] long Steps,
    [property: Id(13)] double MeanBatchSize,
    [property: Id(14)] int MaxBatchSize,
    [property: Id(15)] long ForkCopies,
    [property: Id(16)] long Evictions,
    [property: Id(17)] long RequestsCompleted,
    [property: Id(18)] long RequestsFailed,
    [property: Id(19)] long LiveTensors,
    [property: Id(20)] long StepsRetried,
    [property: Id(21)] long StepsFailed,
    [property: Id(22)] long RecomputedTokens,
    [property: Id(23)] long RecomputedEvicted,
    [property: Id(24)] long RecomputedReleased,
    [property: Id(25)] StepTimeBucket[]? StepTimes);

[GenerateSerializer, Immutable, Alias("treepo.step-time-bucket")]
public readonly record struct StepTimeBucketSurrogate(
    [property: Id(0)] int MinBatch,
    [property: Id(1)] int MaxBatch,
    [property: Id(2)] long Steps,
    [property: Id(3)] double Seconds);

[RegisterConverter]
public sealed class EngineCountersConverter : IConverter<EngineCounters, EngineCountersSurrogate>
{
    public EngineCounters ConvertFromSurrogate(in EngineCountersSurrogate s) => new(
        s.PolicyVersion, s.Slots, s.LiveSlots, s.ActiveSequences, s.ActiveRequests, s.CachedNodes, s.KvBytesUsed,
        s.KvBudgetBytes, s.QueueDepth, s.PrefillTokens, s.DecodeTokens, s.ReusedTokens, s.Steps, s.MeanBatchSize,
        s.MaxBatchSize, s.ForkCopies, s.Evictions, s.RequestsCompleted, s.RequestsFailed, s.LiveTensors,
        s.StepsRetried, s.StepsFailed, s.RecomputedTokens, s.RecomputedEvicted, s.RecomputedReleased, s.StepTimes);

    public EngineCountersSurrogate ConvertToSurrogate(in EngineCounters c) => new(
        c.PolicyVersion, c.Slots, c.LiveSlots, c.ActiveSequences, c.ActiveRequests, c.CachedNodes, c.KvBytesUsed,
        c.KvBudgetBytes, c.QueueDepth, c.PrefillTokens, c.DecodeTokens, c.ReusedTokens, c.Steps, c.MeanBatchSize,
        c.MaxBatchSize, c.ForkCopies, c.Evictions, c.RequestsCompleted, c.RequestsFailed, c.LiveTensors,
        c.StepsRetried, c.StepsFailed, c.RecomputedTokens, c.RecomputedEvicted, c.RecomputedReleased, c.StepTimes);
}

[RegisterConverter]
public sealed class StepTimeBucketConverter : IConverter<StepTimeBucket, StepTimeBucketSurrogate>
{
    public StepTimeBucket ConvertFromSurrogate(in StepTimeBucketSurrogate s) => new(s.MinBatch, s.MaxBatch, s.Steps, s.Seconds);

    public StepTimeBucketSurrogate ConvertToSurrogate(in StepTimeBucket b) => new(b.MinBatch, b.MaxBatch, b.Steps, b.Seconds);
}
