namespace TreePO.Core.Protocol;

/// <summary>A snapshot of an engine's state and counters since it started: the one statistics record of an engine,
/// from the engine (InferenceEngine.GetStats, or a scripted engine) through the engine grain's backend seam to the
/// grain contracts (EngineStats.Counters, written on the wire by a surrogate there).</summary>
/// <param name="LiveSlots">Slots holding a running branch or cached nodes.</param>
/// <param name="ActiveSequences">Branches being prefilled or decoded.</param>
/// <param name="QueueDepth">Requests waiting for slots or KV budget.</param>
/// <param name="PrefillTokens">Context tokens computed (not found in the cache).</param>
/// <param name="DecodeTokens">Forward positions computed while sampling.</param>
/// <param name="ReusedTokens">Context tokens whose K/V came from the cache.</param>
/// <param name="MeanBatchSize">Sequences per step, averaged over steps.</param>
/// <param name="LiveTensors">Tensors alive on the model thread (TorchSharp's per-thread statistics): flat in steady state.</param>
/// <param name="ForkCopies">Prefix copies between slots (forks, and reuse of a prefix another slot holds).</param>
/// <param name="RecomputedTokens">Of <paramref name="PrefillTokens"/>, positions whose K/V had been computed before
/// under the same weights (lost to eviction, given up after a release, or other); 0 while the KV fits.</param>
/// <param name="RecomputedEvicted">Of those, positions lost when their node's slot was evicted.</param>
/// <param name="RecomputedReleased">Of those, positions given up after their node was released.</param>
/// <param name="StepTimes">Step wall time by batch size (<see cref="StepTimeBucket"/>); null from engines that do not
/// measure it.</param>
/// <param name="StepsRetried">Steps that threw and were run again.</param>
/// <param name="StepsFailed">Steps that threw twice: the requests that failed alone (or all of the step's, when none
/// did) failed with the error; the engine went on with the rest.</param>
public sealed record EngineCounters(
    int PolicyVersion,
    int Slots,
    int LiveSlots,
    int ActiveSequences,
    int ActiveRequests,
    int CachedNodes,
    long KvBytesUsed,
    long KvBudgetBytes,
    int QueueDepth,
    long PrefillTokens,
    long DecodeTokens,
    long ReusedTokens,
    long Steps,
    double MeanBatchSize,
    int MaxBatchSize,
    long ForkCopies,
    long Evictions,
    long RequestsCompleted,
    long RequestsFailed,
    long LiveTensors,
    long StepsRetried = 0,
    long StepsFailed = 0,
    long RecomputedTokens = 0,
    long RecomputedEvicted = 0,
    long RecomputedReleased = 0,
    StepTimeBucket[]? StepTimes = null)
{
    public long FreeKvBytes => Math.Max(0, KvBudgetBytes - KvBytesUsed);
}
