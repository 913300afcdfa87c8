using TreePO.Core.Protocol;
using TreePO.Engine;
using TreePO.Engine.Checkpoint;

namespace TreePO.Grains.Engines;

/// <summary>An engine grain's backend: the TorchSharp <see cref="InferenceEngine"/> (its own model thread, continuous
/// batching, KV by node id), behind the seam a scripted or simulated engine implements too.</summary>
public sealed class InferenceEngineBackend(InferenceEngine engine) : IEngineBackend
{
    public InferenceEngine Engine => engine;

    public Task<SegmentResult> GenerateAsync(SegmentRequest request, CancellationToken cancellationToken = default) =>
        engine.GenerateAsync(request, cancellationToken);

    public Task ReleaseAsync(IReadOnlyCollection<string> nodeIds, CancellationToken cancellationToken = default) =>
        engine.ReleaseAsync(nodeIds, cancellationToken);

    public int PolicyVersion => engine.PolicyVersion;

    public Task LoadWeightsAsync(int version, Stream safetensors, CancellationToken cancellationToken = default) =>
        engine.LoadWeightsAsync(version, safetensors, cancellationToken);

    public async Task<WeightSink> BeginWeightsAsync(int version, byte[] header, long totalBytes, CancellationToken cancellationToken = default) =>
        await engine.StageWeightsAsync(version, header, totalBytes);

    public Task CommitWeightsAsync(WeightSink sink, CancellationToken cancellationToken = default) => sink switch
    {
        StagedWeights staged => engine.LoadWeightsAsync(staged, cancellationToken),
        BufferedWeightSink buffered => engine.LoadWeightsAsync(buffered.Version, buffered.OpenRead(), cancellationToken),
        _ => throw new ArgumentException($"the engine cannot load a {sink.GetType().Name}"),
    };

    public EngineCounters GetCounters() => engine.GetStats();

    public int MaxSequenceLength => engine.MaxSequenceLength;

    public ValueTask DisposeAsync() => engine.DisposeAsync();
}
