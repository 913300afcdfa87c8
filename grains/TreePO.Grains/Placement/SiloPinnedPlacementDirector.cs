using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace TreePO.Grains.Placement;

/// <summary>Puts a <see cref="SiloPinnedPlacement"/> grain on the silo its key names. Registered on every silo,
/// because placement runs wherever the first call arrives.</summary>
public sealed class SiloPinnedPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        string key = target.GrainIdentity.Key.ToString()!;
        SiloAddress silo = SiloKey.ParseSilo(key);
        if (!context.GetCompatibleSilos(target).Contains(silo))
            throw new OrleansException($"{target.GrainIdentity} is pinned to silo {silo}, which is not active");
        return Task.FromResult(silo);
    }
}
