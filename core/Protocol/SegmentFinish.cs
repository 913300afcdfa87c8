namespace TreePO.Core.Protocol;

/// <summary>Why the engine stopped generating a segment: an EOS id was sampled (kept as the last token), or the
/// segment reached its token limit.</summary>
public enum SegmentFinish
{
    Length = 0,
    Eos = 1,
}
