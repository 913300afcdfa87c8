namespace TreePO.Core.Advantage;

/// <summary>How a trajectory's subgroup terms are combined (docs/paper.md §3.2).</summary>
public enum SubgroupWeighting
{
    /// <summary>Plain mean over the terms (released script; the paper's ablation winner).</summary>
    Mean,
    /// <summary>Σ a·|G| / Σ |G| (the code's default; paper Eq. 6).</summary>
    SizeWeighted,
}
