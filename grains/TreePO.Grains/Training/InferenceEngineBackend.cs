using TreePO.Core.Protocol;
using TreePO.Engine;
using TreePO.Grains.Engines;

namespace TreePO.Grains.Training;

/// <summary>The TorchSharp <see cref="InferenceEngine"/> as an engine grain's backend.</summary>
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

    public EngineCounters GetCounters()
    {
        var s = engine.GetStats();
        return new EngineCounters(s.QueueDepth, s.ActiveSequences, s.KvBytesUsed, s.KvBudgetBytes, s.Steps, s.MeanBatchSize,
            s.MaxBatchSize, s.TokensPrefilled, s.TokensDecoded, s.TokensReused, s.PolicyVersion, engine.MaxSequenceLength, s.CachedNodes);
    }

    public ValueTask DisposeAsync() => engine.DisposeAsync();
}

/// <summary>One <see cref="InferenceEngine"/> per device, each loading the same model folder.</summary>
public sealed class InferenceEngineBackendFactory(EngineOptions options) : IEngineBackendFactory
{
    public Task<IEngineBackend> CreateAsync(int device, CancellationToken cancellationToken) =>
        // Loading reads weights and starts the model thread: off the grain scheduler.
        Task.Run<IEngineBackend>(() => new InferenceEngineBackend(InferenceEngine.Load(options)), cancellationToken);
}
