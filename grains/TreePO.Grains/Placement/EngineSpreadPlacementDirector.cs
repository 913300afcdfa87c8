using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;
using TreePO.Core.Protocol;
using TreePO.Grains.Routing;

namespace TreePO.Grains.Placement;

/// <summary>Places an <see cref="EngineSpreadPlacement"/> grain: each compatible silo owns as many slots as it has
/// engines, and the grain key picks a slot (<see cref="SlotOf"/>), so the same key lands on the same silo while membership
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
        return Task.FromResult(slots[SlotOf(target.GrainIdentity.ToString(), slots.Count)]);
    }

    /// <summary>The slot of a grain: a key that ends in a number (a batch's queries, "batch/arith-test-17") takes the
    /// slot after its predecessor's, from a hash of the rest, so a batch of N trees puts exactly N / slots on each slot
    /// (a hash of the whole key spread them binomially: the busiest of 8 engines on 4 silos served 1.13x the mean share
    /// in `bench scale`, and the run waited for it); any other key takes a slot by its hash.</summary>
    public static int SlotOf(string identity, int slots)
    {
        int start = identity.Length;
        while (start > 0 && char.IsAsciiDigit(identity[start - 1])) start--;
        ulong slot = start == identity.Length || identity.Length - start > 9
            ? SeedMix.Derive(0, identity)
            : SeedMix.Derive(0, identity[..start]) + ulong.Parse(identity[start..], System.Globalization.CultureInfo.InvariantCulture);
        return (int)(slot % (ulong)slots);
    }
}
