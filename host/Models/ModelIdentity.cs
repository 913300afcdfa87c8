namespace TreePO.Hosting.Models;

/// <summary>The model a silo checked at start: its folder, content hash (<see cref="ModelHash"/>) and how long
/// the check took.</summary>
public sealed record ModelIdentity(string Folder, string Hash, TimeSpan CheckTime)
{
    /// <summary>The first 12 hex digits: enough to tell models apart in a log line.</summary>
    public string ShortHash => Hash[..12];
}
