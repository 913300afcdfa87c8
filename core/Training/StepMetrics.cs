using TreePO.Core.Advantage;
using TreePO.Core.Eval;
using TreePO.Core.Trees;

namespace TreePO.Core.Training;

/// <summary>The fields of one metrics.jsonl line, by phase of the step that produces them (the policy update's
/// fields come from its report: TrainStepReport.AddMetricsTo).</summary>
public static class StepMetrics
{
    /// <param name="m">The metrics of <paramref name="trees"/> (the caller needs them too).</param>
    public static Dictionary<string, object?> Rollout(BatchMetrics m, IReadOnlyCollection<SegmentTree> trees, QueryFilterCounts counts, int policyVersion, int skippedPrompts) => new Dictionary<string, object?>
    {
        ["policy_version"] = policyVersion,
        ["reward_mean"] = Mean(trees.SelectMany(t => t.Trajectories).Select(t => t.Reward)),
        ["accuracy"] = m.Trajectories == 0 ? 0.0 : (double)m.Correct / m.Trajectories,
        ["response_length"] = m.Trajectories == 0 ? 0.0 : (double)m.GeneratedTokens / m.Trajectories,
        ["trajectories"] = m.Trajectories,
        ["trees"] = m.Trees,
        ["fallback_ratio"] = m.FallbackTreeRatio,
        ["token_savings"] = m.TokenSavings,
        ["mean_depth"] = m.MeanDepth,
        ["prefill_tokens"] = m.PrefillTokens,
        ["decode_tokens"] = m.DecodeTokens,
        ["reused_tokens"] = m.ReusedTokens,
        ["recomputed_tokens"] = m.RecomputedTokens,
        ["filter_rounds"] = counts.Rounds,
        ["filter_generated"] = counts.Generated,
        ["filter_kept"] = Math.Min(counts.Kept, counts.Target),
        ["filter_all_correct"] = counts.DroppedAllCorrect,
        ["filter_all_wrong"] = counts.DroppedAllWrong,
        ["filter_empty"] = counts.DroppedEmpty,
        ["filter_dropped"] = counts.DroppedAllCorrect + counts.DroppedAllWrong + counts.DroppedEmpty,
        ["filter_short"] = counts.Kept < counts.Target,
        ["skipped_prompts"] = skippedPrompts,
    };

    public static void AddEval(Dictionary<string, object?> row, EvalPoint e, double seconds)
    {
        row["eval_mean_at_k"] = e.MeanAtK;
        row["eval_maj_at_k"] = e.MajAtK;
        row["eval_pass_at_k"] = e.PassAtK;
        row["eval_queries"] = e.Queries;
        row["eval_s"] = seconds;
    }

    static double Mean(IEnumerable<double> values)
    {
        double sum = 0;
        int n = 0;
        foreach (double v in values) { sum += v; n++; }
        return n == 0 ? 0 : sum / n;
    }
}
