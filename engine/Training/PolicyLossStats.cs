namespace TreePO.Engine.Training;

/// <summary>What one loss evaluation saw; fractions are over the counted trajectory tokens.</summary>
public sealed record PolicyLossStats(double Tokens, double ClipFraction, double DualClipFraction, double RatioMean, double ApproxKl)
{
    /// <summary>Entries of the statistics tensor <see cref="PolicyLoss.WeightedSumAndStatistics"/> leaves on the device.</summary>
    public const int SumCount = 5;

    /// <summary>The statistics of the sums <see cref="PolicyLoss.WeightedSumAndStatistics"/> computed, read back to the
    /// host: counted tokens, then the clipped, dual-clipped, ratio and old-minus-new log-prob sums over them.</summary>
    public static PolicyLossStats FromSums(ReadOnlySpan<float> sums)
    {
        if (sums.Length != SumCount) throw new ArgumentException($"expected {SumCount} sums, got {sums.Length}", nameof(sums));
        double n = sums[0];
        double denom = Math.Max(n, 1);
        return new PolicyLossStats(n, sums[1] / denom, sums[2] / denom, sums[3] / denom, sums[4] / denom);
    }
}
