using System.Text.Json;
using TreePO.Core.Advantage;
using TreePO.Core.Trees;

namespace TreePO.Hosting.Rollout;

/// <summary>
/// What a rollout did and cost: summary.json (snake_case) and the command's table. Token counts: generated = every
/// trajectory's response in full (what sequential sampling would decode); decoded = each tree node once (what the
/// engines sampled); computed = prefill plus decode positions the engines ran; reused = context served from KV;
/// recomputed context = prefilled positions an engine had computed before under the same weights and no longer held
/// (evicted, or given up after a release: 0 while the KV fits).
/// Failovers: a tree moved to another engine (its own engine's silo went away); recomputed tokens: the context the new
/// engine prefilled again. Tree restarts: a tree's own silo went away and it was asked again, activating elsewhere;
/// resumed trees continued from their stored snapshot (resumed segments: finished segments not generated again;
/// recomputed segments: the round in flight when the silo died, requested again); trees started over had no snapshot.
/// Algo and Advantage: the estimator (as `train --algo` names it) and every option of it that filled the trajectories'
/// raw_advantage and advantage in trees.jsonl.
/// </summary>
public sealed record RolloutSummary(
    string Model,
    string Source,
    string Cluster,
    string Mode,
    string BatchId,
    ulong Seed,
    TreeConfig Config,
    int Queries,
    int Trees,
    int Skipped,
    IReadOnlyList<string> SkippedReasons,
    int Trajectories,
    double WallSeconds,
    double TrajectoriesPerSecond,
    long GeneratedTokens,
    long DecodedTokens,
    double DecodedTokensPerSecond,
    long ComputedTokens,
    long PrefillTokens,
    long ReusedTokens,
    long RecomputedContextTokens,
    double TokenSavings,
    int Correct,
    double Accuracy,
    int K,
    double MeanAtK,
    double MajAtK,
    double PassAtK,
    double FallbackTreeRatio,
    double FallbackTrajectoryRatio,
    int Failovers,
    int RetriedRequests,
    long RecomputedTokens,
    int TreeRestarts,
    IReadOnlyList<EngineSummary> Engines,
    int ResumedTrees = 0,
    int ResumedSegments = 0,
    int RecomputedSegments = 0,
    int TreesStartedOver = 0,
    string Algo = "",
    AdvantageOptions? Advantage = null)
{
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static RolloutSummary FromJson(string json) =>
        JsonSerializer.Deserialize<RolloutSummary>(json, JsonOptions) ?? throw new FormatException("summary.json is null");

    static readonly JsonSerializerOptions JsonOptions = new(TreeJson.Options) { WriteIndented = true };
}

