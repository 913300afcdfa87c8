namespace TreePO.Hosting;

/// <summary>No silo of the named cluster could be reached.</summary>
public sealed class ClusterUnavailableException(string message, Exception inner) : Exception(message, inner);
