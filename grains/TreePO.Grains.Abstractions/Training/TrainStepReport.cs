namespace TreePO.Grains.Training;

/// <summary>What one policy update did; <see cref="Version"/> is the weight version it published. Tokens: what the
/// loss counted (a shared token once per trajectory); UpdateTokens: what the update's passes computed (no padding;
/// UpdatePaddedTokens with it) against UnpackedTokens (prompt + response of every trajectory, what the unpacked update
/// computes); OldLogProbTokens: recomputed for the old log-probs (0 with the engine's).
/// <see cref="RawAdvantages"/> and <see cref="Advantages"/>: the advantage of every trajectory the update computed
/// (before and after batch normalisation), trajectory order within tree order of the trees it was given; the run
/// grain puts them back into its copy of the trees (runs/NAME/trees/) instead of receiving the trees again.
/// <see cref="SegmentAdvantages"/>: with the segment estimator, the normalised value of every response node of every
/// trajectory's path, the trajectories' values one after another in the same order (null with the others).</summary>
[GenerateSerializer, Immutable, Alias("treepo.train-step-report")]
public sealed record TrainStepReport(
    [property: Id(0)] int Version,
    [property: Id(1)] int Samples,
    [property: Id(2)] int Tokens,
    [property: Id(3)] int OptimizerSteps,
    [property: Id(4)] double Loss,
    [property: Id(5)] double ClipFraction,
    [property: Id(6)] double DualClipFraction,
    [property: Id(7)] double ApproxKl,
    [property: Id(8)] double GradNorm,
    [property: Id(9)] double LearningRate,
    [property: Id(10)] double AdvantageMean,
    [property: Id(11)] double AdvantageAbsMean,
    [property: Id(12)] int SkippedEmpty,
    [property: Id(13)] double[]? RawAdvantages = null,
    [property: Id(14)] double[]? Advantages = null,
    [property: Id(15)] bool Packed = false,
    [property: Id(16)] bool EngineOldLogProbs = false,
    [property: Id(17)] long UpdateTokens = 0,
    [property: Id(18)] long UpdatePaddedTokens = 0,
    [property: Id(19)] long UnpackedTokens = 0,
    [property: Id(20)] long OldLogProbTokens = 0,
    [property: Id(21)] double UpdateSeconds = 0,
    [property: Id(22)] double[]? SegmentAdvantages = null)
{
    /// <summary>This update's fields of the step's metrics.jsonl line.</summary>
    public void AddMetricsTo(IDictionary<string, object?> row)
    {
        row["trained"] = true;
        row["samples"] = Samples;
        row["train_tokens"] = Tokens;
        row["packed"] = Packed;
        row["engine_old_logprobs"] = EngineOldLogProbs;
        row["update_tokens"] = UpdateTokens;
        row["update_padded_tokens"] = UpdatePaddedTokens;
        row["unpacked_tokens"] = UnpackedTokens;
        row["update_token_ratio"] = UnpackedTokens == 0 ? 0.0 : (double)UpdateTokens / UnpackedTokens;
        row["old_logprob_tokens"] = OldLogProbTokens;
        row["update_s"] = UpdateSeconds;
        row["loss"] = Loss;
        row["clip_fraction"] = ClipFraction;
        row["dual_clip_fraction"] = DualClipFraction;
        row["approx_kl"] = ApproxKl;
        row["grad_norm"] = GradNorm;
        row["lr"] = LearningRate;
        row["advantage_abs_mean"] = AdvantageAbsMean;
    }
}
