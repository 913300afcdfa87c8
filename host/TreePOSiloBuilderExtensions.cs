using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using TreePO.Grains.Placement;

namespace TreePO.Hosting;

/// <summary>The one place where a silo is wired for TreePO.</summary>
public static class TreePOSiloBuilderExtensions
{
    public static ISiloBuilder AddTreePO(this ISiloBuilder silo)
    {
        silo.Services.AddPlacementDirector<SiloPinnedPlacement, SiloPinnedPlacementDirector>();
        return silo;
    }
}
