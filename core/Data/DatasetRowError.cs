namespace TreePO.Core.Data;

/// <summary>A dataset row that was skipped, and why. <paramref name="Line"/> is the line of a JSON-lines file, or the
/// 1-based row of a Parquet file (<paramref name="ParquetRow"/>).</summary>
public sealed record DatasetRowError(string File, int Line, string Message, bool ParquetRow = false)
{
    public override string ToString() => ParquetRow ? $"{File}: row {Line}: {Message}" : $"{File}:{Line}: {Message}";
}
