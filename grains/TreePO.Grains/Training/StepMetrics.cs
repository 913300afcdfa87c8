using TreePO.Core.Advantage;
using TreePO.Core.Trees;

namespace TreePO.Grains.Training;

/// <summary>The fields of one metrics.jsonl line, by phase of the step that produces them.</summary>
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

    public static void AddTraining(Dictionary<string, object?> row, TrainStepReport report)
    {
        row["trained"] = true;
        row["samples"] = report.Samples;
        row["train_tokens"] = report.Tokens;
        row["packed"] = report.Packed;
        row["engine_old_logprobs"] = report.EngineOldLogProbs;
        row["update_tokens"] = report.UpdateTokens;
        row["update_padded_tokens"] = report.UpdatePaddedTokens;
        row["unpacked_tokens"] = report.UnpackedTokens;
        row["update_token_ratio"] = report.UnpackedTokens == 0 ? 0.0 : (double)report.UpdateTokens / report.UnpackedTokens;
        row["old_logprob_tokens"] = report.OldLogProbTokens;
        row["update_s"] = report.UpdateSeconds;
        row["loss"] = report.Loss;
        row["clip_fraction"] = report.ClipFraction;
        row["dual_clip_fraction"] = report.DualClipFraction;
        row["approx_kl"] = report.ApproxKl;
        row["grad_norm"] = report.GradNorm;
        row["lr"] = report.LearningRate;
        row["advantage_abs_mean"] = report.AdvantageAbsMean;
    }

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
