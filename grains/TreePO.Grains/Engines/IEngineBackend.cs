using TreePO.Core.Protocol;
using TreePO.Engine.Checkpoint;

namespace TreePO.Grains.Engines;

/// <summary>The engine behind an <see cref="EngineGrain"/>: generates segments (batching concurrent calls on its own
/// thread), holds KV by node id, and reports its counters. Production wraps the TorchSharp InferenceEngine; tests
/// register scripted ones.</summary>
public interface IEngineBackend : ISegmentGenerator, IAsyncDisposable
{
    /// <summary>The engine's statistics now (core/Protocol/EngineCounters.cs).</summary>
    EngineCounters GetCounters();

    /// <summary>The longest path (context + segment) the engine holds.</summary>
    int MaxSequenceLength { get; }

    /// <summary>The weight version held now (0: the weights it was loaded with).</summary>
    int PolicyVersion { get; }

    /// <summary>Replaces the weights with a safetensors stream between two steps and drops all cached KV.</summary>
    Task LoadWeightsAsync(int version, Stream safetensors, CancellationToken cancellationToken = default);

    /// <summary>Opens a sink for weight <paramref name="version"/>, a safetensors file of <paramref name="totalBytes"/>
    /// starting with <paramref name="header"/>, whose bytes arrive in pieces. By default the file is assembled in one
    /// array and handed to <see cref="LoadWeightsAsync(int, Stream, CancellationToken)"/>; the TorchSharp engine
    /// stages it straight into tensors instead.</summary>
    Task<WeightSink> BeginWeightsAsync(int version, byte[] header, long totalBytes, CancellationToken cancellationToken = default) =>
        Task.FromResult<WeightSink>(new BufferedWeightSink(version, header, totalBytes));

    /// <summary>Swaps in a complete sink from <see cref="BeginWeightsAsync"/>; an incomplete one fails and changes nothing.
    /// The caller disposes the sink afterwards.</summary>
    Task CommitWeightsAsync(WeightSink sink, CancellationToken cancellationToken = default) => sink switch
    {
        BufferedWeightSink buffered => LoadWeightsAsync(buffered.Version, buffered.OpenRead(), cancellationToken),
        _ => throw new ArgumentException($"this engine cannot load a {sink.GetType().Name}"),
    };
}
