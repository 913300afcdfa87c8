using TreePO.Core.Trees;

namespace TreePO.Core.Advantage;

/// <summary>
/// DAPO's dynamic sampling (docs/paper.md §3.3): keep a query only when its trajectories disagree on correctness (or it
/// has a single trajectory); accumulate kept queries over rounds until <c>targetQueries</c>, asking for at most
/// <c>maxExtraRounds</c> more rounds; the surplus is dropped from the end. Unlike the authors' code, running out of
/// rounds is not an error: the batch is what was kept, and the counts say so.
/// </summary>
public sealed class QueryFilter(int targetQueries, int maxExtraRounds)
{
    readonly List<SegmentTree> _kept = [];
    int _rounds, _generated, _allCorrect, _allWrong, _empty;

    public int TargetQueries { get; } = targetQueries > 0 ? targetQueries
        : throw new ArgumentOutOfRangeException(nameof(targetQueries), $"targetQueries must be positive, got {targetQueries}");
    public int MaxExtraRounds { get; } = maxExtraRounds >= 0 ? maxExtraRounds
        : throw new ArgumentOutOfRangeException(nameof(maxExtraRounds), $"maxExtraRounds must not be negative, got {maxExtraRounds}");

    /// <summary>Keep iff correctness varies (0/1 accuracy, not the score), or there is one trajectory.</summary>
    public static QueryVerdict Judge(SegmentTree tree)
    {
        var t = tree.Trajectories;
        if (t.Count == 0) return QueryVerdict.Empty;
        if (t.Count == 1) return QueryVerdict.Keep;
        int correct = t.Count(x => x.Correct);
        return correct == t.Count ? QueryVerdict.AllCorrect : correct == 0 ? QueryVerdict.AllWrong : QueryVerdict.Keep;
    }

    /// <summary>Adds one round's scored trees; returns the verdict of each.</summary>
    public IReadOnlyList<QueryVerdict> AddRound(IEnumerable<SegmentTree> trees)
    {
        _rounds++;
        var verdicts = new List<QueryVerdict>();
        foreach (SegmentTree tree in trees)
        {
            _generated++;
            QueryVerdict v = Judge(tree);
            verdicts.Add(v);
            switch (v)
            {
                case QueryVerdict.Keep: _kept.Add(tree); break;
                case QueryVerdict.AllCorrect: _allCorrect++; break;
                case QueryVerdict.AllWrong: _allWrong++; break;
                default: _empty++; break;
            }
        }
        return verdicts;
    }

    /// <summary>Adds one round's scored trees in order until the batch is full and returns how many it took; the rest
    /// are left unjudged, for an oversampled round to give their queries back to the data stream (DAPO's oversampling
    /// without spending queries it did not need).</summary>
    public int AddRoundUntilFull(IReadOnlyList<SegmentTree> trees)
    {
        int kept = _kept.Count, taken = 0;
        foreach (SegmentTree tree in trees)
        {
            if (kept >= TargetQueries) break;
            taken++;
            if (Judge(tree) == QueryVerdict.Keep) kept++;
        }
        AddRound(trees.Take(taken));
        return taken;
    }

    public bool IsFull => _kept.Count >= TargetQueries;
    /// <summary>Kept queries still missing.</summary>
    public int Missing => Math.Max(0, TargetQueries - _kept.Count);
    /// <summary>True when the batch is short and another round is allowed.</summary>
    public bool ShouldSampleMore => !IsFull && _rounds < 1 + MaxExtraRounds;

    /// <summary>The batch: the first <see cref="TargetQueries"/> kept trees, in the order they were added.</summary>
    public IReadOnlyList<SegmentTree> Batch => _kept.Take(TargetQueries).ToList();

    public QueryFilterCounts Counts => new(_rounds, _generated, _kept.Count, _allCorrect, _allWrong, _empty,
        Math.Max(0, _kept.Count - TargetQueries), TargetQueries);
}
