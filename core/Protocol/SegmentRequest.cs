namespace TreePO.Core.Protocol;

/// <summary>
/// One request from a tree to an engine: continue <see cref="Context"/> (prompt plus every segment so far, the full
/// token context, so any engine can serve it) with <see cref="Branches"/> independent segments of at most
/// <see cref="MaxTokens"/> tokens each.
/// </summary>
/// <param name="TreeId">The tree that asks; used for accounting and for releasing its nodes.</param>
/// <param name="ParentNodeId">The engine-side KV node that <see cref="Context"/> continues. The engine reuses its KV
/// when it still holds that node and the node's tokens are a prefix of the context; otherwise it prefills.</param>
/// <param name="ParentTokenCount">How many leading tokens of <see cref="Context"/> the parent node covers
/// (normally all of them).</param>
/// <param name="ChildNodeIds">Ids for the new nodes, one per branch; unique across the cluster.</param>
/// <param name="Seed">Seeds branch i's sampler with a value derived from (Seed, i): same inputs, same tokens.</param>
/// <param name="PolicyVersion">The weight version the tree expects; -1 accepts whatever the engine holds.</param>
public sealed record SegmentRequest(
    string TreeId,
    string ParentNodeId,
    int ParentTokenCount,
    int[] Context,
    string[] ChildNodeIds,
    int MaxTokens,
    SamplingParams Sampling,
    ulong Seed,
    int PolicyVersion = -1)
{
    public int Branches => ChildNodeIds.Length;
}
