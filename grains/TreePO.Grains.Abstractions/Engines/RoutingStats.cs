namespace TreePO.Grains.Engines;

/// <summary>How one tree's segment requests went through the engines.</summary>
/// <param name="Failovers">Times the tree lost its engine (silo gone, timeout) and moved to another.</param>
/// <param name="RetriedRequests">Requests sent again after their engine failed.</param>
/// <param name="RecomputedPrefixTokens">Context tokens prefilled again because the engine that held their KV was
/// lost: the whole cost of the failures, since no finished segment is lost.</param>
/// <param name="Engines">The engines that served the tree, in the order it used them.</param>
/// <param name="SlowWaits">Times a request outlasted the segment timeout on an engine that was still stepping (queued
/// behind other work): the tree kept waiting instead of moving.</param>
[GenerateSerializer, Immutable, Alias("treepo.routing-stats")]
public sealed record RoutingStats(
    [property: Id(0)] int Requests,
    [property: Id(1)] int Failovers,
    [property: Id(2)] int RetriedRequests,
    [property: Id(3)] long RecomputedPrefixTokens,
    [property: Id(4)] long PrefillTokens,
    [property: Id(5)] long DecodeTokens,
    [property: Id(6)] long ReusedTokens,
    [property: Id(7)] string[] Engines,
    [property: Id(8)] int SlowWaits = 0);
