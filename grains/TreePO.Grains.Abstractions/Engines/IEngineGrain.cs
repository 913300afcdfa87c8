namespace TreePO.Grains.Engines;

/// <summary>
/// One per compute device of each silo, keyed "{silo}/{device}" (<see cref="Placement.SiloKey.For(Orleans.Runtime.SiloAddress, int)"/>)
/// and pinned to that silo. Serves segment requests of many trees at once; the engine behind it batches them.
/// </summary>
[Alias("treepo.engine")]
public interface IEngineGrain : IGrainWithStringKey
{
    /// <summary>Generates the request's branches. <paramref name="callerSilo"/> is the requesting tree's silo
    /// (for accounting). Cancelling the call cancels the request and frees what it held.</summary>
    [Alias("generate"), ResponseTimeout("01:00:00")]
    Task<SegmentResultMessage> GenerateAsync(SegmentRequestMessage request, string callerSilo, CancellationToken cancellationToken = default);

    /// <summary>The tree no longer needs these nodes.</summary>
    [Alias("release")]
    Task ReleaseAsync(string treeId, string[] nodeIds);

    [Alias("load")]
    Task<EngineLoad> GetLoadAsync();

    [Alias("stats")]
    Task<EngineStats> GetStatsAsync();
}
