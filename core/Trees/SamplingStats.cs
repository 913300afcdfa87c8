namespace TreePO.Core.Trees;

/// <summary>What sampling one tree cost, counted by the sampler (the rest of the metrics follow from the nodes).</summary>
/// <param name="InferenceCalls">Segment requests sent to the engine.</param>
/// <param name="Rounds">Sampling rounds (all requests of a round go out together).</param>
/// <param name="FallbackRequests">Requests that restarted from a finished path's prefix (or from the prompt).</param>
/// <param name="FinishedAtFirstFallback">Trajectories finished when the first fallback happened; -1 if none did.</param>
/// <param name="PrefillTokens">Context tokens the engines had to compute (reported by the engine).</param>
/// <param name="DecodeTokens">Tokens the engines decoded.</param>
/// <param name="ReusedTokens">Context tokens served from KV caches.</param>
/// <param name="RecomputedTokens">Of <paramref name="PrefillTokens"/>, those an engine had computed before under the
/// same weights and no longer held (reported by the engine; 0 while its KV fits).</param>
public sealed record SamplingStats(
    int InferenceCalls = 0,
    int Rounds = 0,
    int FallbackRequests = 0,
    int FinishedAtFirstFallback = -1,
    long PrefillTokens = 0,
    long DecodeTokens = 0,
    long ReusedTokens = 0,
    long RecomputedTokens = 0);
