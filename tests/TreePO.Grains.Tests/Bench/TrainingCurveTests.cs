using TreePO.Bench.Common;
using TreePO.Testing;

namespace TreePO.Grains.Tests.Bench;

/// <summary>What `bench training` and `bench ablation` read from a run's metrics.jsonl besides time and tokens: the
/// held-out curve's mean after the start, and the query filter's shares.</summary>
public sealed class TrainingCurveTests
{
    static TrainingCurve Read(params string[] lines)
    {
        using var folder = new TempFolder("treepo-curve-");
        File.WriteAllLines(Path.Combine(folder, "metrics.jsonl"), lines);
        return TrainingCurve.Read("treepo", folder, "run", new RolloutTokenCounter());
    }

    const string Start = """{"step":0,"eval_mean_at_k":0.30,"eval_s":1.0,"wall_s":1.0}""";

    static string Step(int step, double wall, int generated, int kept, int allCorrect, int allWrong, double? eval = null) =>
        $$"""{"step":{{step}},"filter_generated":{{generated}},"filter_kept":{{kept}},"filter_all_correct":{{allCorrect}},"filter_all_wrong":{{allWrong}},"wall_s":{{wall}}{{(eval is { } e ? $",\"eval_mean_at_k\":{e},\"eval_s\":1.0" : "")}}}""";

    [Fact]
    public void The_curve_mean_averages_the_evaluations_after_the_start()
    {
        var curve = Read(Start, Step(1, 2, 10, 6, 2, 2, eval: 0.40), Step(2, 4, 10, 6, 2, 2), Step(3, 6, 10, 6, 2, 2, eval: 0.60));
        Assert.Equal(0.50, curve.CurveMean!.Value, 12);
        Assert.Equal(0.60, curve.FinalEval.MeanAtK!.Value, 12);
    }

    [Fact]
    public void A_run_evaluated_only_at_the_start_has_no_curve_mean()
    {
        Assert.Null(Read(Start, Step(1, 2, 10, 6, 2, 2)).CurveMean);
    }

    [Fact]
    public void Filter_shares_sum_every_step_and_average_over_seeds_by_count()
    {
        var a = Read(Start, Step(1, 2, 10, 5, 3, 2), Step(2, 4, 30, 21, 6, 3));
        Assert.Equal(new FilterShares(40, 26, 9, 5), a.Filter);
        Assert.Equal(26 / 40.0, a.Filter.KeptShare, 12);
        Assert.Equal(9 / 40.0, a.Filter.AllCorrectShare, 12);
        Assert.Equal(5 / 40.0, a.Filter.AllWrongShare, 12);

        var b = Read(Start, Step(1, 2, 20, 20, 0, 0), Step(2, 4, 20, 20, 0, 0));
        var mean = TrainingCurve.Average("treepo", [a, b]);
        Assert.Equal((26 + 40) / 80.0, mean.Filter.KeptShare, 12);
        Assert.Equal(0.0, FilterShares.Zero.KeptShare);
    }
}
