namespace TreePO.Grains.Engines;

/// <summary>How many engines (devices) this silo offers: published as silo metadata for discovery, and the bound on
/// the device index of the engine keys this silo accepts.</summary>
public sealed record LocalDevices(int Count);
