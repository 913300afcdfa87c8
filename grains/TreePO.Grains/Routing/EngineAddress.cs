using TreePO.Grains.Placement;

namespace TreePO.Grains.Routing;

/// <summary>One engine: a silo and a device index on it.</summary>
public sealed record EngineAddress(SiloAddress Silo, int Device)
{
    public string Key { get; } = SiloKey.For(Silo, Device);
}
