using TreePO.Core.Protocol;

namespace TreePO.Grains.Engines;

// Wire mirrors of the core protocol records (core/Protocol): core never references Orleans, so the grain boundary
// carries these and maps at each end (ProtocolMapping). Arrays only, never tensors.

[GenerateSerializer, Immutable, Alias("treepo.sampling")]
public sealed record SamplingMessage(
    [property: Id(0)] float Temperature,
    [property: Id(1)] float TopP,
    [property: Id(2)] int TopK);

[GenerateSerializer, Alias("treepo.segment-end")]
public enum SegmentEnd
{
    Length = 0,
    Eos = 1,
}

[GenerateSerializer, Immutable, Alias("treepo.segment-request")]
public sealed record SegmentRequestMessage(
    [property: Id(0)] string TreeId,
    [property: Id(1)] string ParentNodeId,
    [property: Id(2)] int ParentTokenCount,
    [property: Id(3)] int[] Context,
    [property: Id(4)] string[] ChildNodeIds,
    [property: Id(5)] int MaxTokens,
    [property: Id(6)] SamplingMessage Sampling,
    [property: Id(7)] ulong Seed,
    [property: Id(8)] int PolicyVersion,
    [property: Id(9)] string? WeightsFrom = null);

[GenerateSerializer, Immutable, Alias("treepo.segment-branch")]
public sealed record SegmentBranchMessage(
    [property: Id(0)] string NodeId,
    [property: Id(1)] int[] Tokens,
    [property: Id(2)] float[] LogProbs,
    [property: Id(3)] SegmentEnd Finish);

[GenerateSerializer, Immutable, Alias("treepo.segment-result")]
public sealed record SegmentResultMessage(
    [property: Id(0)] SegmentBranchMessage[] Branches,
    [property: Id(1)] int PolicyVersion,
    [property: Id(2)] int PrefillTokens,
    [property: Id(3)] int DecodeTokens,
    [property: Id(4)] int ReusedTokens,
    [property: Id(5)] int RecomputedTokens = 0);
