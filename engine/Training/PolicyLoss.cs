using static TorchSharp.torch;

namespace TreePO.Engine.Training;

/// <summary>Clip settings of the DAPO-style objective (reference section 4): asymmetric ratio clip and dual clip.</summary>
public sealed record PolicyLossOptions(double EpsLow = 0.2, double EpsHigh = 0.28, double DualClip = 10.0);

/// <summary>What one loss evaluation saw; fractions are over the masked tokens.</summary>
public sealed record PolicyLossStats(double Tokens, double ClipFraction, double DualClipFraction, double RatioMean, double ApproxKl);

/// <summary>
/// The per-token clipped-ratio policy loss, summed over masked tokens. The caller divides by the token count of the
/// whole mini-batch, so that micro-batches accumulate to a token-level mean ("token-mean" aggregation) no matter how
/// the mini-batch was split. No KL term, no entropy bonus (as in the reference run).
/// </summary>
public static class PolicyLoss
{
    /// <param name="logProbs">Current policy log-probs of the sampled tokens (requires grad).</param>
    /// <param name="oldLogProbs">Log-probs of the same tokens under the policy that generated the batch, recomputed
    /// by the trainer before the update.</param>
    /// <param name="advantages">Per-token advantages (one value per trajectory, repeated over its tokens).</param>
    /// <param name="mask">1 for response tokens that count, 0 for padding and prompt.</param>
    public static Tensor TokenSum(Tensor logProbs, Tensor oldLogProbs, Tensor advantages, Tensor mask,
        PolicyLossOptions options, out PolicyLossStats stats)
    {
        using var scope = NewDisposeScope();
        var ratio = exp(logProbs - oldLogProbs);
        var unclipped = -advantages * ratio;
        var clipped = -advantages * ratio.clamp(1 - options.EpsLow, 1 + options.EpsHigh);
        var pessimistic = maximum(unclipped, clipped);
        // Dual clip: for negative advantages the loss is bounded by -A * c, so one token whose ratio exploded
        // cannot dominate the step.
        var dualBound = -advantages * options.DualClip;
        var negative = advantages.lt(0);
        var perToken = where(negative, minimum(pessimistic, dualBound), pessimistic);
        var sum = (perToken * mask).sum();

        using (no_grad())
        {
            double n = mask.sum().item<float>();
            double denom = Math.Max(n, 1);
            stats = new PolicyLossStats(
                n,
                (clipped.gt(unclipped).to_type(ScalarType.Float32) * mask).sum().item<float>() / denom,
                (negative.logical_and(pessimistic.gt(dualBound)).to_type(ScalarType.Float32) * mask).sum().item<float>() / denom,
                (ratio * mask).sum().item<float>() / denom,
                ((oldLogProbs - logProbs) * mask).sum().item<float>() / denom);
        }
        return sum.MoveToOuterDisposeScope();
    }
}
