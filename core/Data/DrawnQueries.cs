using TreePO.Core.Trees;

namespace TreePO.Core.Data;

/// <summary>Queries drawn from a <see cref="QuerySource"/>, with the stream position after each (<c>Ends[0]</c>: where
/// the draw began), so that the ones not used can be given back (<see cref="QuerySource.GiveBackAfter"/>).</summary>
public sealed record DrawnQueries(IReadOnlyList<QueryItem> Queries, IReadOnlyList<(long Cursor, int Skipped)> Ends);
