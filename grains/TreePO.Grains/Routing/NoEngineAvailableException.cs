namespace TreePO.Grains.Routing;

/// <summary>No engine can take a tree's requests: none in the cluster, or all failed for it.</summary>
[GenerateSerializer, Alias("treepo.no-engine")]
public sealed class NoEngineAvailableException : Exception
{
    public NoEngineAvailableException(string message) : base(message) { }
}
