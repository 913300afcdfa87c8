using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Training;

/// <summary>
/// The per-token clipped-ratio policy loss, summed over counted tokens. The caller divides by the token count of the
/// whole mini-batch, so that micro-batches accumulate to a token-level mean ("token-mean" aggregation) no matter how
/// the mini-batch was split or packed. No KL term, no entropy bonus (as in the reference run).
/// </summary>
public static class PolicyLoss
{
    /// <param name="logProbs">Current policy log-probs of the sampled tokens (requires grad).</param>
    /// <param name="oldLogProbs">Log-probs of the same tokens under the policy that generated the batch.</param>
    /// <param name="advantages">Per-token advantages (one value per trajectory, repeated over its tokens).</param>
    /// <param name="mask">1 for response tokens that count, 0 for padding and prompt.</param>
    public static Tensor TokenSum(Tensor logProbs, Tensor oldLogProbs, Tensor advantages, Tensor mask,
        PolicyLossOptions options, out PolicyLossStats stats)
    {
        using var scope = NewDisposeScope();
        var a = advantages * mask;
        return WeightedSum(logProbs, oldLogProbs, a.ClampedBelow(0.0), a.ClampedAbove(0.0),
                advantages.Above(0.0).to_type(ScalarType.Float32) * mask, advantages.Below(0.0).to_type(ScalarType.Float32) * mask, mask,
                options, out stats)
            .MoveToOuterDisposeScope();
    }

    /// <summary>The same loss over positions that may stand for several trajectory tokens (<see cref="TokenWeights"/>):
    /// per position, <c>-A+ min(r, 1 + eps_high) + |A-| min(max(r, 1 - eps_low), dual_clip)</c> with A+ / A- the sums
    /// of the positive / negative advantages through it, which is the clipped objective of each trajectory
    /// (pessimistic of the clipped and unclipped ratio term, and for negative advantages the dual clip's bound) added
    /// up.</summary>
    public static Tensor WeightedSum(Tensor logProbs, Tensor oldLogProbs, Tensor advantagePositive, Tensor advantageNegative,
        Tensor countPositive, Tensor countNegative, Tensor count, PolicyLossOptions options, out PolicyLossStats stats)
    {
        using var scope = NewDisposeScope();
        var sum = WeightedSumAndStatistics(logProbs, oldLogProbs, advantagePositive, advantageNegative, countPositive,
            countNegative, count, options, out var statistics);
        stats = PolicyLossStats.FromSums(statistics.cpu().data<float>().ToArray());
        return sum.MoveToOuterDisposeScope();
    }

    /// <summary><see cref="WeightedSum"/> with its statistics left where the tensors are, as <c>[5]</c> float sums
    /// (<see cref="PolicyLossStats.FromSums"/>), so that a trainer on a GPU reads them back with the loss in one copy
    /// per micro-batch rather than one synchronisation per figure.</summary>
    public static Tensor WeightedSumAndStatistics(Tensor logProbs, Tensor oldLogProbs, Tensor advantagePositive, Tensor advantageNegative,
        Tensor countPositive, Tensor countNegative, Tensor count, PolicyLossOptions options, out Tensor statistics)
    {
        using var scope = NewDisposeScope();
        // Scalar-taking operations through TensorArithmetic: see engine/README.md, Scalars.
        var ratio = exp(logProbs.Minus(oldLogProbs));
        var positive = -advantagePositive * ratio.ClampedAbove(1 + options.EpsHigh);
        var negative = -advantageNegative * ratio.Clamped(1 - options.EpsLow, options.DualClip);
        var sum = positive.Plus(negative).sum();

        using (no_grad())
        {
            var f = ScalarType.Float32;
            // Clipped: a positive advantage above 1 + eps_high, a negative one below 1 - eps_low (where the clipped
            // term is the pessimistic one); dual clip: a negative advantage above the dual bound.
            var clipped = (countPositive * ratio.Above(1 + options.EpsHigh).to_type(f)).Plus(countNegative * ratio.Below(1 - options.EpsLow).to_type(f));
            statistics = stack([
                count.sum(),
                clipped.sum(),
                (countNegative * ratio.Above(options.DualClip).to_type(f)).sum(),
                (ratio * count).sum(),
                (oldLogProbs.Minus(logProbs) * count).sum(),
            ]).MoveToOuterDisposeScope();
        }
        return sum.MoveToOuterDisposeScope();
    }
}
