namespace TreePO.Grains.Engines;

/// <summary>Creates the backend of one device of this silo when its engine grain activates. Registered in the silo's
/// DI container, so each host decides what an engine is.</summary>
public interface IEngineBackendFactory
{
    Task<IEngineBackend> CreateAsync(int device, CancellationToken cancellationToken);
}
