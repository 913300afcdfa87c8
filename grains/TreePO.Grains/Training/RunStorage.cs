namespace TreePO.Grains.Training;

/// <summary>The grain storage provider of what a training run keeps beyond one silo (the cluster's training lease):
/// registered by every silo beside the trees' storage, in Redis or PostgreSQL on a shared cluster, in memory on a
/// localhost one (host/Clustering/SiloClustering.cs).</summary>
public static class RunStorage
{
    public const string Name = "treepo-runs";
}
