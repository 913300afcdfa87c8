namespace TreePO.Bench.Common;

/// <summary>
/// One measured run. <c>ComputedTokens</c> = prefill + decode, the forward-pass positions the engine actually
/// computed; <c>UniqueTokens</c> counts each tree node's tokens once (responses only); <c>PromptTokens</c> sums the
/// queries' prompts once each; <c>PaperTokens</c> is the paper's TokenPS
/// numerator (every context as submitted, once per branch, plus the generated tokens), cache hits included.
/// </summary>
public sealed record RunRecord(
    string Mode,
    int Repetition,
    int Trajectories,
    double WallSeconds,
    long GeneratedTokens,
    long PrefillTokens,
    long DecodeTokens,
    long ReusedTokens,
    long RecomputedTokens,
    long UniqueTokens,
    long PromptTokens,
    long InferenceCalls,
    long PaperTokens,
    long PeakRssBytes,
    long ForkCopies,
    long Steps,
    double MeanBatchSize,
    long Evictions,
    int Correct,
    IReadOnlyDictionary<string, int> FinishCounts,
    IReadOnlyList<TreePO.Core.Protocol.StepTimeBucket>? StepTimes = null,
    JitActivity Jit = default)
{
    public long ComputedTokens => PrefillTokens + DecodeTokens;
    public double TrajPerSecond => Trajectories / WallSeconds;
    public double GeneratedTokensPerSecond => GeneratedTokens / WallSeconds;
    public double PaperTokenPs => PaperTokens / WallSeconds;

    public object ToJson() => new
    {
        mode = Mode,
        repetition = Repetition,
        trajectories = Trajectories,
        wall_s = WallSeconds,
        traj_per_s = TrajPerSecond,
        generated_tokens = GeneratedTokens,
        generated_tokens_per_s = GeneratedTokensPerSecond,
        computed_tokens = ComputedTokens,
        prefill_tokens = PrefillTokens,
        decode_tokens = DecodeTokens,
        reused_tokens = ReusedTokens,
        recomputed_tokens = RecomputedTokens,
        unique_tokens = UniqueTokens,
        prompt_tokens = PromptTokens,
        inference_calls = InferenceCalls,
        peak_rss_bytes = PeakRssBytes,
        paper_token_ps = PaperTokenPs,
        paper_tokens = PaperTokens,
        fork_copies = ForkCopies,
        engine_steps = Steps,
        mean_batch = MeanBatchSize,
        evictions = Evictions,
        correct = Correct,
        finish = FinishCounts,
        jit_methods = Jit.Methods,
        jit_ms = Jit.Milliseconds,
        step_times = StepTimes?.Select(b => new { min_batch = b.MinBatch, max_batch = b.MaxBatch, steps = b.Steps, mean_ms = b.MeanMilliseconds }),
    };
}
