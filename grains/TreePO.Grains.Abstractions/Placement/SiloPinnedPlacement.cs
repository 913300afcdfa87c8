using Orleans.Placement;
using Orleans.Runtime;

namespace TreePO.Grains.Placement;

/// <summary>
/// Places a grain on the silo named by the first part of its string key, "{silo}" or "{silo}/{device}", where silo
/// is <c>SiloAddress.ToParsableString()</c>. A key naming a silo that is not active fails at once.
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("treepo.placement.silo-pinned")]
public sealed class SiloPinnedPlacement : PlacementStrategy
{
    internal static readonly SiloPinnedPlacement Singleton = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SiloPinnedPlacementAttribute() : PlacementAttribute(SiloPinnedPlacement.Singleton);
