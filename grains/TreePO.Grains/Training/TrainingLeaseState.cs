namespace TreePO.Grains.Training;

/// <summary>The training lease's stored state: its holder, or null when free.</summary>
[GenerateSerializer, Alias("treepo.training-lease-state")]
public sealed class TrainingLeaseState
{
    [Id(0)] public TrainingLease? Holder { get; set; }
}
