using TreePO.Core.Eval;

namespace TreePO.Core.Tests.Eval;

public sealed class SampleMetricsTests
{
    static QuerySamples Q(string id, params (string? Answer, bool Correct)[] s) =>
        new(id, s.Select(x => x.Answer).ToArray(), s.Select(x => x.Correct).ToArray());

    [Fact]
    public void Pass_at_k_matches_the_combinatorial_definition()
    {
        // n=5, c=2, k=2: 1 - C(3,2)/C(5,2) = 1 - 3/10 = 0.7
        Assert.Equal(0.7, SampleMetrics.PassAtK(5, 2, 2), 12);
        // k=1 is the plain fraction correct.
        Assert.Equal(0.4, SampleMetrics.PassAtK(5, 2, 1), 12);
        Assert.Equal(0.0, SampleMetrics.PassAtK(4, 0, 4));
        Assert.Equal(1.0, SampleMetrics.PassAtK(4, 1, 4));
        // n=10, c=3, k=5: 1 - C(7,5)/C(10,5) = 1 - 21/252
        Assert.Equal(1 - 21.0 / 252, SampleMetrics.PassAtK(10, 3, 5), 12);
    }

    [Fact]
    public void Majority_vote_ignores_missing_answers_and_breaks_ties_by_first_occurrence()
    {
        Assert.True(SampleMetrics.MajorityCorrect(Q("a", ("3", true), (null, false), ("4", false), ("3", true))));
        Assert.False(SampleMetrics.MajorityCorrect(Q("b", ("4", false), ("3", true), ("4", false), ("3", true))));
        Assert.True(SampleMetrics.MajorityCorrect(Q("c", ("3", true), ("4", false))));
        Assert.False(SampleMetrics.MajorityCorrect(Q("d", (null, false), (null, false))));
    }

    [Fact]
    public void Majority_votes_count_answers_by_meaning()
    {
        // 0.5, \frac12 and 1/2 are one answer with three votes; written as strings they would lose to 3 (two votes).
        Assert.True(SampleMetrics.MajorityCorrect(Q("m", ("3", false), ("0.5", true), ("3", false), ("\\frac12", true), ("1/2", true))));
        Assert.False(SampleMetrics.MajorityCorrect(Q("n", ("(1,2)", false), ("[1,2]", true), ("(1, 2)", false))));
    }

    [Fact]
    public void Scores_average_over_queries()
    {
        var s = SampleMetrics.Score(new[]
        {
            Q("a", ("1", true), ("1", true), ("2", false), ("1", true)),
            Q("b", ("5", false), ("5", false), ("6", true), (null, false)),
        });
        Assert.Equal((0.75 + 0.25) / 2, s.MeanAtK, 12);
        Assert.Equal(0.5, s.MajAtK, 12);
        Assert.Equal(1.0, s.PassAtK, 12);
        Assert.Equal(4, s.K);
        Assert.Equal(2, s.Queries);
    }

    [Fact]
    public void Mismatched_lengths_name_the_query()
    {
        var bad = new QuerySamples("q7", new string?[] { "1" }, new[] { true, false });
        var e = Assert.Throws<ArgumentException>(() => SampleMetrics.Score(new[] { bad }));
        Assert.Contains("q7", e.Message);
    }
}
