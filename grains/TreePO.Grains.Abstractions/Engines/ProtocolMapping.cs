using TreePO.Core.Protocol;

namespace TreePO.Grains.Engines;

/// <summary>Maps the core protocol records to their wire mirrors and back, field for field.</summary>
public static class ProtocolMapping
{
    public static SamplingMessage ToMessage(this SamplingParams p) => new(p.Temperature, p.TopP, p.TopK);
    public static SamplingParams ToCore(this SamplingMessage m) => new(m.Temperature, m.TopP, m.TopK);

    public static SegmentEnd ToMessage(this SegmentFinish f) => f switch
    {
        SegmentFinish.Length => SegmentEnd.Length,
        SegmentFinish.Eos => SegmentEnd.Eos,
        _ => throw new ArgumentOutOfRangeException(nameof(f), f, "unknown segment finish"),
    };

    public static SegmentFinish ToCore(this SegmentEnd e) => e switch
    {
        SegmentEnd.Length => SegmentFinish.Length,
        SegmentEnd.Eos => SegmentFinish.Eos,
        _ => throw new ArgumentOutOfRangeException(nameof(e), e, "unknown segment end"),
    };

    public static SegmentRequestMessage ToMessage(this SegmentRequest r) => new(
        r.TreeId, r.ParentNodeId, r.ParentTokenCount, r.Context, r.ChildNodeIds, r.MaxTokens,
        r.Sampling.ToMessage(), r.Seed, r.PolicyVersion);

    public static SegmentRequest ToCore(this SegmentRequestMessage m) => new(
        m.TreeId, m.ParentNodeId, m.ParentTokenCount, m.Context, m.ChildNodeIds, m.MaxTokens,
        m.Sampling.ToCore(), m.Seed, m.PolicyVersion);

    public static SegmentBranchMessage ToMessage(this SegmentBranch b) => new(b.NodeId, b.Tokens, b.LogProbs, b.Finish.ToMessage());
    public static SegmentBranch ToCore(this SegmentBranchMessage m) => new(m.NodeId, m.Tokens, m.LogProbs, m.Finish.ToCore());

    public static SegmentResultMessage ToMessage(this SegmentResult r) => new(
        Array.ConvertAll(r.Branches, b => b.ToMessage()), r.PolicyVersion, r.PrefillTokens, r.DecodeTokens, r.ReusedTokens, r.RecomputedTokens);

    public static SegmentResult ToCore(this SegmentResultMessage m) => new(
        Array.ConvertAll(m.Branches, b => b.ToCore()), m.PolicyVersion, m.PrefillTokens, m.DecodeTokens, m.ReusedTokens, m.RecomputedTokens);
}
