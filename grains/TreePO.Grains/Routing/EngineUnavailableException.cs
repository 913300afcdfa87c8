namespace TreePO.Grains.Routing;

/// <summary>A tree's request could not be served by any engine.</summary>
[GenerateSerializer, Alias("treepo.engine-unavailable")]
public sealed class EngineUnavailableException : Exception
{
    public EngineUnavailableException(string message, Exception? inner) : base(message, inner) { }
}
