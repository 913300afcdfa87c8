using TreePO.Testing;
using TreePO.Core.Advantage;
using TreePO.Core.Trees;

namespace TreePO.Core.Tests.Advantage;

public sealed class QueryFilterTests
{
    static SegmentTree Tree(string id, params double[] rewards) =>
        HandTrees.Build(id, rewards.Select((r, i) => ($"l{i}", (string?)null, (double?)r)).ToArray());

    [Fact]
    public void Drops_all_correct_and_all_wrong_keeps_mixed_and_single()
    {
        Assert.Equal(QueryVerdict.AllCorrect, QueryFilter.Judge(Tree("a", 1, 1, 1)));
        Assert.Equal(QueryVerdict.AllWrong, QueryFilter.Judge(Tree("b", -1, -1)));
        Assert.Equal(QueryVerdict.Keep, QueryFilter.Judge(Tree("c", 1, -1)));
        Assert.Equal(QueryVerdict.Keep, QueryFilter.Judge(Tree("d", 1)));
        Assert.Equal(QueryVerdict.Empty, QueryFilter.Judge(HandTrees.Build("e", ("n", null, null))));
    }

    [Fact]
    public void Asks_for_more_rounds_up_to_the_limit_and_reports_counts()
    {
        var filter = new QueryFilter(targetQueries: 3, maxExtraRounds: 2);
        filter.AddRound([Tree("a", 1, 1), Tree("b", 1, -1), Tree("c", -1, -1)]);
        Assert.True(filter.ShouldSampleMore);
        Assert.Equal(2, filter.Missing);
        filter.AddRound([Tree("d", -1, -1)]);
        Assert.True(filter.ShouldSampleMore);
        filter.AddRound([Tree("e", -1, 1)]);
        Assert.False(filter.ShouldSampleMore); // out of rounds, still one short
        Assert.False(filter.IsFull);
        Assert.Equal(new QueryFilterCounts(3, 5, 2, 1, 2, 0, 0, 3), filter.Counts);
        Assert.Equal(["q-b", "q-e"], filter.Batch.Select(t => t.Query.Id));
    }

    [Fact]
    public void An_oversampled_round_is_taken_until_the_batch_is_full_and_the_rest_left_unjudged()
    {
        var filter = new QueryFilter(2, 1);
        // Six drawn for a batch of two: a (all correct) dropped, b kept, c dropped, d kept -> full; e, f untouched.
        int taken = filter.AddRoundUntilFull([Tree("a", 1, 1), Tree("b", 1, -1), Tree("c", -1, -1), Tree("d", -1, 1), Tree("e", 1, -1), Tree("f", 1, 1)]);
        Assert.Equal(4, taken);
        Assert.True(filter.IsFull);
        Assert.False(filter.ShouldSampleMore);
        Assert.Equal(new QueryFilterCounts(1, 4, 2, 1, 1, 0, 0, 2), filter.Counts);
        Assert.Equal(["q-b", "q-d"], filter.Batch.Select(t => t.Query.Id));

        // A round that never fills the batch takes everything.
        var short_ = new QueryFilter(3, 0);
        Assert.Equal(2, short_.AddRoundUntilFull([Tree("a", 1, -1), Tree("b", 1, 1)]));
        Assert.Equal(2, short_.Missing);
    }

    [Fact]
    public void Surplus_is_dropped_from_the_end()
    {
        var filter = new QueryFilter(2, 0);
        filter.AddRound([Tree("a", 1, -1), Tree("b", 1, -1), Tree("c", 1, -1)]);
        Assert.True(filter.IsFull);
        Assert.False(filter.ShouldSampleMore);
        Assert.Equal(["q-a", "q-b"], filter.Batch.Select(t => t.Query.Id));
        Assert.Equal(1, filter.Counts.Surplus);
        Assert.Throws<ArgumentOutOfRangeException>(() => new QueryFilter(0, 1));
    }
}
