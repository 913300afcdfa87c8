using TreePO.Core.Protocol;

namespace TreePO.Grains.Engines;

/// <summary>The engine behind an <see cref="EngineGrain"/>: generates segments (batching concurrent calls on its own
/// thread), holds KV by node id, and reports its counters. Production wraps the TorchSharp InferenceEngine; tests
/// register scripted ones.</summary>
public interface IEngineBackend : ISegmentGenerator, IAsyncDisposable
{
    EngineCounters GetCounters();

    /// <summary>The weight version held now (0: the weights it was loaded with).</summary>
    int PolicyVersion { get; }

    /// <summary>Replaces the weights with a safetensors stream between two steps and drops all cached KV.</summary>
    Task LoadWeightsAsync(int version, Stream safetensors, CancellationToken cancellationToken = default);
}

/// <summary>Creates the backend of one device of this silo when its engine grain activates. Registered in the silo's
/// DI container, so each host decides what an engine is.</summary>
public interface IEngineBackendFactory
{
    Task<IEngineBackend> CreateAsync(int device, CancellationToken cancellationToken);
}

/// <summary>How many engines (devices) this silo offers: published as silo metadata for discovery, and the bound on
/// the device index of the engine keys this silo accepts.</summary>
public sealed record LocalDevices(int Count);
