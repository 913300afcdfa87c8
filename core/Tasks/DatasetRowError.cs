namespace TreePO.Core.Tasks;

/// <summary>A dataset row that was skipped, and why.</summary>
public sealed record DatasetRowError(string File, int Line, string Message)
{
    public override string ToString() => $"{File}:{Line}: {Message}";
}
