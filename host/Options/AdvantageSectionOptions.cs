namespace TreePO.Hosting.Options;

/// <summary>The advantage estimator of `treepo train`, chosen apart from the sampling.</summary>
public sealed class AdvantageSectionOptions
{
    /// <summary>tree, tree_size_weighted, tree_subgroup_reject, group or segment; empty: the one Run:Algo presets
    /// (treepo: tree, grpo: group).</summary>
    public string Estimator { get; set; } = "";

    /// <summary>Drop the root group's term of the tree advantage (the paper's "no root group" ablation).</summary>
    public bool NoRoot { get; set; }
}
