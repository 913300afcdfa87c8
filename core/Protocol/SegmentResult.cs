namespace TreePO.Core.Protocol;

/// <summary>The answer to a <see cref="SegmentRequest"/>: one branch per requested child node, the weight version
/// that produced them, and what the engine had to compute.</summary>
/// <param name="PrefillTokens">Context tokens the engine computed because it did not hold their KV.</param>
/// <param name="DecodeTokens">Tokens computed while sampling (one forward position per sampled token).</param>
/// <param name="ReusedTokens">Context tokens whose KV came from the cache.</param>
/// <param name="RecomputedTokens">Of <paramref name="PrefillTokens"/>, those whose KV the engine had computed before
/// under the same weights and no longer held (evicted, or given up after a release).</param>
public sealed record SegmentResult(
    SegmentBranch[] Branches,
    int PolicyVersion,
    int PrefillTokens,
    int DecodeTokens,
    int ReusedTokens,
    int RecomputedTokens = 0);
