using TreePO.Core.Reward;

namespace TreePO.Core.Tests.Reward;

/// <summary>The answer-equivalence table (equivalence-cases.tsv): the reward must agree with at least 95 % of it
/// and reject every false-positive trap.</summary>
public sealed class EquivalenceTableTests(ITestOutputHelper output)
{
    public static string TablePath => Path.Combine(AppContext.BaseDirectory, "Reward", "equivalence-cases.tsv");

    [Fact]
    public void Table_has_at_least_300_cases_with_true_false_and_trap_rows()
    {
        var cases = EquivalenceCase.Load(TablePath);
        Assert.True(cases.Count >= 300, $"{cases.Count} cases");
        Assert.Contains(cases, c => c.Equivalent);
        Assert.Contains(cases, c => !c.Equivalent && !c.Trap);
        Assert.True(cases.Count(c => c.Trap) >= 10);
    }

    [Fact]
    public void Agrees_with_at_least_95_percent_and_with_every_trap()
    {
        var cases = EquivalenceCase.Load(TablePath);
        var wrong = new List<EquivalenceCase>();
        foreach (var c in cases)
        {
            bool verdict = MathEquivalence.AreEquivalent(c.Answer, c.Reference);
            if (verdict != c.Equivalent)
            {
                wrong.Add(c);
                output.WriteLine($"line {c.Line} [{c.Category}] expected {(c.Equivalent ? "equivalent" : "different")}: {c.Answer}  vs  {c.Reference}");
            }
        }
        Assert.DoesNotContain(wrong, c => c.Trap);
        double agreement = 1.0 - wrong.Count / (double)cases.Count;
        Assert.True(agreement >= 0.95, $"agreement {agreement:P1}, {wrong.Count} wrong");
    }

    [Fact]
    public void Verdicts_are_symmetric_on_the_table()
    {
        foreach (var c in EquivalenceCase.Load(TablePath))
            Assert.True(MathEquivalence.AreEquivalent(c.Answer, c.Reference) == MathEquivalence.AreEquivalent(c.Reference, c.Answer),
                $"line {c.Line}: {c.Answer} vs {c.Reference}");
    }

    [Fact]
    public void The_scorer_reads_the_table_as_responses_and_answers()
    {
        // As `treepo score` sees a row: the answer boxed in a response, the reference as the ground truth.
        var cases = EquivalenceCase.Load(TablePath);
        int agree = cases.Count(c => MathReward.PlusMinusOne.Score($"Thus \\boxed{{{c.Answer}}}.", c.Reference).Correct == c.Equivalent);
        Assert.True(agree >= 0.95 * cases.Count, $"{agree}/{cases.Count}");
        Assert.DoesNotContain(cases, c => c.Trap && MathReward.PlusMinusOne.Score($"\\boxed{{{c.Answer}}}", c.Reference).Correct);
    }
}
