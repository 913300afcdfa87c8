using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;
using TreePO.Grains.Placement;

namespace TreePO.Grains.Routing;

/// <summary>
/// The engine set, computed rather than registered: for every active silo in the membership snapshot, one engine per
/// device that silo publishes in its metadata (<see cref="DevicesMetadataKey"/>). A dead silo's engines simply drop
/// out; a restarted silo has a new address, hence new engine keys. Where this silo checked its model
/// (<see cref="LocalModel"/>), a silo that publishes another model hash (<see cref="ModelMetadataKey"/>), or none,
/// offers no engines here: its trees would be sampled from another model and tokenizer. A warning names it once.
/// </summary>
public sealed class EngineDirectory(IClusterMembershipService membership, ISiloMetadataCache metadata, ILocalSiloDetails local,
    LocalModel? model = null, ILogger<EngineDirectory>? log = null)
{
    public const string DevicesMetadataKey = "treepo.devices";
    public const string ModelMetadataKey = "treepo.model";

    readonly HashSet<SiloAddress> refused = [];

    public SiloAddress LocalSilo => local.SiloAddress;

    /// <summary>The hash of the model this silo checked at start, or null where it ran no check.</summary>
    public string? LocalModelHash => model?.Hash;

    public IReadOnlyList<EngineAddress> GetEngines()
    {
        var engines = new List<EngineAddress>();
        foreach (var (silo, member) in membership.CurrentSnapshot.Members)
        {
            if (member.Status != SiloStatus.Active) continue;
            if (!ServesLocalModel(silo)) continue;
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

    /// <summary>The model hash a silo publishes, or null (not arrived yet, or a silo that ran no model check).</summary>
    public string? ModelOf(SiloAddress silo) => metadata.GetSiloMetadata(silo).Metadata.GetValueOrDefault(ModelMetadataKey);

    /// <summary>Whether a silo serves this silo's model (always, where this silo checked none).</summary>
    public bool ServesLocalModel(SiloAddress silo)
    {
        if (model is null || silo.Equals(local.SiloAddress)) return true;
        var metadataOf = metadata.GetSiloMetadata(silo).Metadata;
        if (!metadataOf.ContainsKey(DevicesMetadataKey)) return false;   // not arrived yet: no engines, no trees until it has
        string? theirs = metadataOf.GetValueOrDefault(ModelMetadataKey);
        if (theirs == model.Hash) return true;
        lock (refused)
            if (refused.Add(silo))
                log?.LogWarning("silo {Silo} serves {Theirs}, not this silo's model {Ours}: its engines are left out (start every " +
                    "silo with the same Model:Path)", silo, theirs is null ? "no checked model" : "model " + theirs[..12], model.Hash[..12]);
        return false;
    }

    public bool IsActive(SiloAddress silo) =>
        membership.CurrentSnapshot.Members.TryGetValue(silo, out var m) && m.Status == SiloStatus.Active;
}

