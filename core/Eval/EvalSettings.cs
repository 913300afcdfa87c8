using TreePO.Core.Protocol;
using TreePO.Core.Trees;

namespace TreePO.Core.Eval;

/// <summary>How an evaluation samples: k independent answers per query (sequential sampling, as the reference's
/// validation does), each at most <see cref="MaxResponseTokens"/> long.</summary>
public sealed record EvalSettings(int K = 8, int MaxResponseTokens = 64, SamplingParams? Sampling = null, int Concurrency = 64)
{
    public TreeConfig ToTreeConfig() => new()
    {
        Mode = SamplingMode.Sequential,
        Width = K,
        Branch = K,
        Depth = 1,
        SegmentLength = MaxResponseTokens,
        Sampling = Sampling ?? SamplingParams.Default,
    };
}
