using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;
using TreePO.Core.Protocol;
using TreePO.Grains.Routing;

namespace TreePO.Grains.Placement;

/// <summary>Places an <see cref="EngineSpreadPlacement"/> grain: each compatible silo owns as many slots as it has
/// engines, and a stable hash of the grain key picks a slot, so the same key lands on the same silo while membership
/// stays the same. A silo whose metadata has not arrived yet (it just joined) counts as one engine; a silo that
/// publishes no devices, or serves another model than this silo's (<see cref="EngineDirectory.ServesLocalModel"/>),
/// gets nothing, unless no silo has any.</summary>
public sealed class EngineSpreadPlacementDirector(EngineDirectory directory) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silos = context.GetCompatibleSilos(target).OrderBy(s => s.ToParsableString(), StringComparer.Ordinal).ToList();
        var slots = new List<SiloAddress>();
        foreach (var silo in silos)
            for (int d = directory.ServesLocalModel(silo) ? directory.DevicesOf(silo) ?? 1 : 0; d > 0; d--) slots.Add(silo);
        if (slots.Count == 0) slots = silos;
        ulong hash = SeedMix.Derive(0, target.GrainIdentity.ToString());
        return Task.FromResult(slots[(int)(hash % (ulong)slots.Count)]);
    }
}
