namespace TreePO.Hosting.Options;

/// <summary>`treepo train` settings that have an options-tree key besides their flag.</summary>
public sealed class TrainingOptions
{
    /// <summary>Write each step's trained trees, with rewards and advantages, to runs/NAME/trees/step-N.jsonl
    /// (`--save-trees` turns it on too).</summary>
    public bool SaveTrees { get; set; }
}
