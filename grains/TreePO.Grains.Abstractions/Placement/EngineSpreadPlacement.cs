using Orleans.Placement;
using Orleans.Runtime;

namespace TreePO.Grains.Placement;

/// <summary>
/// Spreads grains over the silos in proportion to the engines (devices) each one serves, by a stable hash of the
/// grain's key: the grain for query trees, whose work lands on their own silo's engines first. Orleans' default
/// placement weighs CPU and memory of silos that share a machine and favours the caller's silo, which left one
/// engine with twice the work of the other in the scale-out benchmark.
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("treepo.placement.engine-spread")]
public sealed class EngineSpreadPlacement : PlacementStrategy
{
    internal static readonly EngineSpreadPlacement Singleton = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class EngineSpreadPlacementAttribute() : PlacementAttribute(EngineSpreadPlacement.Singleton);
