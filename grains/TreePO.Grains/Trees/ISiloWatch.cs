namespace TreePO.Grains.Trees;

/// <summary>
/// Tells a caller outside the cluster when a silo has left it. Inside a silo Orleans fails the calls to a silo it
/// declares dead; a client's calls that went through a gateway to that silo are not failed and would wait for their
/// response timeout (hours for a tree), so the client watches the membership itself.
/// </summary>
public interface ISiloWatch
{
    /// <summary>Completes when the silo (a SiloKey) is no longer an active member; never completes otherwise.</summary>
    Task WhenGoneAsync(string silo, CancellationToken cancellationToken);
}

/// <summary>The silo a tree was waiting on left the cluster.</summary>
public sealed class TreeSiloLostException(string tree, string silo)
    : Exception($"tree {tree}: its silo {silo} left the cluster");
