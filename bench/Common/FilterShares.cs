namespace TreePO.Bench.Common;

/// <summary>
/// What the query filter did over a run: of the queries sampled (every round), how many it kept and how many it
/// dropped because all their samples were correct or all wrong. Samples that share prefixes agree more often, so a
/// tree drops more queries than independent samples at the same width (docs/benchmarks.md, "accuracy against sharing").
/// </summary>
public sealed record FilterShares(long Generated, long Kept, long AllCorrect, long AllWrong)
{
    public static readonly FilterShares Zero = new(0, 0, 0, 0);

    public double KeptShare => Share(Kept);
    public double AllCorrectShare => Share(AllCorrect);
    public double AllWrongShare => Share(AllWrong);

    public FilterShares Add(FilterShares o) =>
        new(Generated + o.Generated, Kept + o.Kept, AllCorrect + o.AllCorrect, AllWrong + o.AllWrong);

    double Share(long n) => Generated > 0 ? (double)n / Generated : 0;
}
