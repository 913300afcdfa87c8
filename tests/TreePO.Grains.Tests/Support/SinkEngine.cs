using TreePO.Core.Protocol;
using TreePO.Engine.Checkpoint;
using TreePO.Grains.Engines;

namespace TreePO.Grains.Tests.Support;

/// <summary>A <see cref="ScriptedEngine"/> whose weight pulls land in a sink of the test's own (one that pauses,
/// breaks, ...): <paramref name="begin"/> opens it, <paramref name="read"/> reads a complete one back for the swap.</summary>
public sealed class SinkEngine(ScriptedEngine inner, Func<int, byte[], long, WeightSink> begin, Func<WeightSink, Stream> read) : IEngineBackend
{
    public Task<SegmentResult> GenerateAsync(SegmentRequest request, CancellationToken cancellationToken = default) => inner.GenerateAsync(request, cancellationToken);
    public Task ReleaseAsync(IReadOnlyCollection<string> nodeIds, CancellationToken cancellationToken = default) => inner.ReleaseAsync(nodeIds, cancellationToken);
    public EngineCounters GetCounters() => inner.GetCounters();
    public int MaxSequenceLength => inner.MaxSequenceLength;
    public int PolicyVersion => inner.PolicyVersion;
    public Task LoadWeightsAsync(int version, Stream safetensors, CancellationToken cancellationToken = default) => inner.LoadWeightsAsync(version, safetensors, cancellationToken);
    public Task<WeightSink> BeginWeightsAsync(int version, byte[] header, long totalBytes, CancellationToken cancellationToken = default) =>
        Task.FromResult(begin(version, header, totalBytes));
    public Task CommitWeightsAsync(WeightSink sink, CancellationToken cancellationToken = default) =>
        inner.LoadWeightsAsync(sink.Version, read(sink), cancellationToken);
    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
