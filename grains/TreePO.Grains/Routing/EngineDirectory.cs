using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;
using TreePO.Grains.Placement;

namespace TreePO.Grains.Routing;

/// <summary>
/// The engine set, computed rather than registered: for every active silo in the membership snapshot, one engine per
/// device that silo publishes in its metadata (<see cref="DevicesMetadataKey"/>). A dead silo's engines simply drop
/// out; a restarted silo has a new address, hence new engine keys.
/// </summary>
public sealed class EngineDirectory(IClusterMembershipService membership, ISiloMetadataCache metadata, ILocalSiloDetails local)
{
    public const string DevicesMetadataKey = "treepo.devices";

    public SiloAddress LocalSilo => local.SiloAddress;

    public IReadOnlyList<EngineAddress> GetEngines()
    {
        var engines = new List<EngineAddress>();
        foreach (var (silo, member) in membership.CurrentSnapshot.Members)
        {
            if (member.Status != SiloStatus.Active) continue;
            // Metadata arrives shortly after a silo joins; until then it offers no engines.
            for (int d = 0; d < (DevicesOf(silo) ?? 0); d++) engines.Add(new EngineAddress(silo, d));
        }
        engines.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return engines;
    }

    /// <summary>The devices a silo publishes, or null while its metadata has not arrived.</summary>
    public int? DevicesOf(SiloAddress silo) =>
        metadata.GetSiloMetadata(silo).Metadata.TryGetValue(DevicesMetadataKey, out var value) && int.TryParse(value, out int devices)
            ? devices : null;

    public bool IsActive(SiloAddress silo) =>
        membership.CurrentSnapshot.Members.TryGetValue(silo, out var m) && m.Status == SiloStatus.Active;
}

/// <summary>One engine: a silo and a device index on it.</summary>
public sealed record EngineAddress(SiloAddress Silo, int Device)
{
    public string Key { get; } = SiloKey.For(Silo, Device);
}
