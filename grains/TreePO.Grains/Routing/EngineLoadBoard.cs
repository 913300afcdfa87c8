using System.Collections.Concurrent;
using TreePO.Grains.Engines;

namespace TreePO.Grains.Routing;

/// <summary>
/// Per-silo singleton: the latest load of each engine on this silo. Written only by those engine grains (at every
/// request, and on deactivation); routing reads it without a call. Which trees are bound to which engine is the
/// router's own state (<see cref="EngineRouter.Bind"/>).
/// </summary>
public sealed class EngineLoadBoard
{
    readonly ConcurrentDictionary<string, EngineLoad> local = new();

    public void Update(EngineLoad load) => local[load.Engine] = load;

    public void Remove(string engine) => local.TryRemove(engine, out _);

    public EngineLoad? LocalLoad(string engine) => local.TryGetValue(engine, out var l) ? l : null;
}
