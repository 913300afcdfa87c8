using TreePO.Core.Protocol;

namespace TreePO.Grains.Engines;

// The core protocol records (core/Protocol) cross the grain boundary as they are: core never references Orleans, so
// these surrogates tell Orleans how to write them on the wire. They run only when a call leaves the silo; a call to an
// engine of the tree's own silo hands the records over untouched (IEngineGrain marks them immutable). Arrays only,
// never tensors. The surrogates and their converters belong together: one small file.

[GenerateSerializer, Immutable, Alias("treepo.segment-request")]
public readonly record struct SegmentRequestSurrogate(
    [property: Id(0)] string TreeId,
    [property: Id(1)] string ParentNodeId,
    [property: Id(2)] int ParentTokenCount,
    [property: Id(3)] int[] Context,
    [property: Id(4)] string[] ChildNodeIds,
    [property: Id(5)] int MaxTokens,
    [property: Id(6)] float Temperature,
    [property: Id(7)] float TopP,
    [property: Id(8)] int TopK,
    [property: Id(9)] ulong Seed,
    [property: Id(10)] int PolicyVersion);

[GenerateSerializer, Immutable, Alias("treepo.segment-branch")]
public readonly record struct SegmentBranchSurrogate(
    [property: Id(0)] string NodeId,
    [property: Id(1)] int[] Tokens,
    [property: Id(2)] float[] LogProbs,
    [property: Id(3)] int Finish);

[GenerateSerializer, Immutable, Alias("treepo.segment-result")]
public readonly record struct SegmentResultSurrogate(
    [property: Id(0)] SegmentBranch[] Branches,
    [property: Id(1)] int PolicyVersion,
    [property: Id(2)] int PrefillTokens,
    [property: Id(3)] int DecodeTokens,
    [property: Id(4)] int ReusedTokens,
    [property: Id(5)] int RecomputedTokens);

[RegisterConverter]
public sealed class SegmentRequestConverter : IConverter<SegmentRequest, SegmentRequestSurrogate>
{
    public SegmentRequest ConvertFromSurrogate(in SegmentRequestSurrogate s) => new(
        s.TreeId, s.ParentNodeId, s.ParentTokenCount, s.Context, s.ChildNodeIds, s.MaxTokens,
        new SamplingParams(s.Temperature, s.TopP, s.TopK), s.Seed, s.PolicyVersion);

    public SegmentRequestSurrogate ConvertToSurrogate(in SegmentRequest r) => new(
        r.TreeId, r.ParentNodeId, r.ParentTokenCount, r.Context, r.ChildNodeIds, r.MaxTokens,
        r.Sampling.Temperature, r.Sampling.TopP, r.Sampling.TopK, r.Seed, r.PolicyVersion);
}

[RegisterConverter]
public sealed class SegmentBranchConverter : IConverter<SegmentBranch, SegmentBranchSurrogate>
{
    public SegmentBranch ConvertFromSurrogate(in SegmentBranchSurrogate s) =>
        new(s.NodeId, s.Tokens, s.LogProbs, Enum.IsDefined((SegmentFinish)s.Finish)
            ? (SegmentFinish)s.Finish
            : throw new ArgumentOutOfRangeException(nameof(s), s.Finish, "unknown segment finish"));

    public SegmentBranchSurrogate ConvertToSurrogate(in SegmentBranch b) => new(b.NodeId, b.Tokens, b.LogProbs, (int)b.Finish);
}

[RegisterConverter]
public sealed class SegmentResultConverter : IConverter<SegmentResult, SegmentResultSurrogate>
{
    public SegmentResult ConvertFromSurrogate(in SegmentResultSurrogate s) =>
        new(s.Branches, s.PolicyVersion, s.PrefillTokens, s.DecodeTokens, s.ReusedTokens, s.RecomputedTokens);

    public SegmentResultSurrogate ConvertToSurrogate(in SegmentResult r) =>
        new(r.Branches, r.PolicyVersion, r.PrefillTokens, r.DecodeTokens, r.ReusedTokens, r.RecomputedTokens);
}
