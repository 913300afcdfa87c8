using System.Collections.Concurrent;

namespace TreePO.Grains.Draining;

/// <summary>Per-silo singleton: the training runs whose loop runs on this silo, so that a draining silo can ask each
/// to checkpoint and stop (<see cref="Training.IRunGrain.DrainAsync"/>).</summary>
public sealed class LocalRuns
{
    readonly ConcurrentDictionary<string, byte> running = new(StringComparer.Ordinal);

    public void Add(string runId) => running[runId] = 0;

    public void Remove(string runId) => running.TryRemove(runId, out _);

    public IReadOnlyList<string> Ids => [.. running.Keys];
}
