namespace TreePO.Core.Advantage;

/// <summary>Options of the advantage estimators. Defaults: the released run.</summary>
public sealed record AdvantageOptions
{
    public AdvantageEstimator Estimator { get; init; } = AdvantageEstimator.Tree;
    public SubgroupWeighting Weighting { get; init; } = SubgroupWeighting.Mean;
    /// <summary>False: the "No Root Group" ablation (drop the prompt-group term).</summary>
    public bool IncludeRoot { get; init; } = true;
    /// <summary>True: the "subgroup rejection" ablation (Eq. 7): skip subgroups whose rewards are all equal.</summary>
    public bool RejectZeroStdSubgroups { get; init; }
    /// <summary>Normalise the tree advantage over all response tokens of the batch (masked mean, unbiased std).</summary>
    public bool WhitenBatch { get; init; } = true;
    /// <summary>Added to the variance in the batch whitening (verl's masked_whiten).</summary>
    public double WhitenEpsilon { get; init; } = 1e-8;
    /// <summary>Added to the std in the GRPO group normalisation.</summary>
    public double GrpoEpsilon { get; init; } = 1e-6;
    /// <summary>False: GRPO without the std division (Dr. GRPO style).</summary>
    public bool GrpoNormalizeStd { get; init; } = true;

    public static AdvantageOptions Default { get; } = new();
}
