namespace TreePO.Core.Protocol;

/// <summary>
/// What a tree sampler needs from an inference engine. The engine itself implements it in-process; a query-tree
/// grain implements it by routing to engine grains; tests implement it with scripted behaviour.
/// Implementations must accept many concurrent calls (that is how segments of many paths and trees get batched).
/// </summary>
public interface ISegmentGenerator
{
    Task<SegmentResult> GenerateAsync(SegmentRequest request, CancellationToken cancellationToken = default);

    /// <summary>Tells the engine these nodes will not be continued again (pruned branch, finished tree).</summary>
    Task ReleaseAsync(IReadOnlyCollection<string> nodeIds, CancellationToken cancellationToken = default);
}
