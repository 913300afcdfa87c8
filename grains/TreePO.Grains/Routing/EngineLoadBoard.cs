using System.Collections.Concurrent;
using TreePO.Grains.Engines;

namespace TreePO.Grains.Routing;

/// <summary>
/// Per-silo singleton: the latest load of each engine on this silo (written by the engine grains at every request)
/// and how many trees of this silo are bound to each engine (local or remote). Routing reads it without a call.
/// </summary>
public sealed class EngineLoadBoard
{
    readonly ConcurrentDictionary<string, EngineLoad> local = new();
    readonly ConcurrentDictionary<string, int> bound = new();

    public void Update(EngineLoad load) => local[load.Engine] = load;

    public void Remove(string engine) => local.TryRemove(engine, out _);

    public EngineLoad? LocalLoad(string engine) => local.TryGetValue(engine, out var l) ? l : null;

    public int BoundTrees(string engine) => bound.GetValueOrDefault(engine);

    public void Bind(string engine) => bound.AddOrUpdate(engine, 1, (_, n) => n + 1);

    public void Unbind(string engine) => bound.AddOrUpdate(engine, 0, (_, n) => Math.Max(0, n - 1));
}
