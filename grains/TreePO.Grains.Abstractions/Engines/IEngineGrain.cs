using TreePO.Core.Protocol;

namespace TreePO.Grains.Engines;

/// <summary>
/// One per compute device of each silo, keyed "{silo}/{device}" (<see cref="Placement.SiloKey.For(Orleans.Runtime.SiloAddress, int)"/>)
/// and pinned to that silo. Serves segment requests of many trees at once; the engine behind it batches them.
/// </summary>
[Alias("treepo.engine")]
public interface IEngineGrain : IGrainWithStringKey
{
    /// <summary>Generates the request's branches. <paramref name="weightsFrom"/>, when set, is the trainer whose
    /// version <see cref="SegmentRequest.PolicyVersion"/> the tree expects (the engine pulls it first when behind);
    /// <paramref name="callerSilo"/> is the requesting tree's silo (for accounting). Cancelling the call cancels the
    /// request and frees what it held. The core records go as they are (ProtocolSurrogates writes them on the wire).</summary>
    [Alias("generate"), ResponseTimeout("01:00:00")]
    [return: Immutable]
    Task<SegmentResult> GenerateAsync([Immutable] SegmentRequest request, string? weightsFrom, string callerSilo,
        CancellationToken cancellationToken = default);

    /// <summary>The tree no longer needs these nodes.</summary>
    [Alias("release")]
    Task ReleaseAsync(string treeId, string[] nodeIds);

    [Alias("load")]
    Task<EngineLoad> GetLoadAsync();

    [Alias("stats")]
    Task<EngineStats> GetStatsAsync();

    /// <summary>Pulls weight <paramref name="version"/> from the trainer of run <paramref name="trainer"/> in chunks,
    /// swaps it in between two engine steps and drops all cached KV; returns the version now held. A no-op when the
    /// engine already holds that version from that trainer, unless <paramref name="force"/>.</summary>
    [Alias("sync-weights"), ResponseTimeout("00:30:00")]
    Task<int> SyncWeightsAsync(string trainer, int version, bool force = false, CancellationToken cancellationToken = default);

    /// <summary><see cref="SyncWeightsAsync"/> with a choice of path and pipelining, returning the phases' timings.</summary>
    [Alias("sync-weights-report"), ResponseTimeout("00:30:00")]
    Task<WeightSyncReport> SyncWeightsWithReportAsync(string trainer, int version, WeightSyncOptions options, CancellationToken cancellationToken = default);

    /// <summary>Where a child engine reads weight <paramref name="version"/> of <paramref name="trainer"/> from this
    /// engine while it receives it, in fan-out round <paramref name="round"/> (<see cref="WeightRelayPlan"/>): a
    /// one-time token for this silo's weight stream. Null when this silo serves no stream.</summary>
    [Alias("offer-relay")]
    Task<TreePO.Grains.Training.WeightStreamOffer?> OfferRelayAsync(string round, string trainer, int version, long totalBytes);
}
