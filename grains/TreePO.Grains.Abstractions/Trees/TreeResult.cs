using TreePO.Grains.Engines;

namespace TreePO.Grains.Trees;

/// <summary>A finished, scored tree: <see cref="TreeLine"/> is its trees.jsonl line (TreeJson.Write), the rest a
/// summary for progress displays, <see cref="Routing"/> how its requests went through the engines, and
/// <see cref="Recovery"/> whether it was resumed after its silo died (null from a grain that predates it).</summary>
[GenerateSerializer, Immutable, Alias("treepo.tree-result")]
public sealed record TreeResult(
    [property: Id(0)] string TreeId,
    [property: Id(1)] string Silo,
    [property: Id(2)] string TreeLine,
    [property: Id(3)] int Trajectories,
    [property: Id(4)] int Correct,
    [property: Id(5)] long GeneratedTokens,
    [property: Id(6)] long UniqueTokens,
    [property: Id(7)] double FallbackRatio,
    [property: Id(8)] RoutingStats Routing,
    [property: Id(9)] TreeRecovery? Recovery = null);
