using CsCheck;
using TreePO.Core.Reward;

namespace TreePO.Core.Tests.Reward;

public sealed class MathRewardTests
{
    [Theory]
    [InlineData("so \\boxed{42}", "42")]
    [InlineData("first \\boxed{1} then \\boxed{2}", "2")]
    [InlineData("\\boxed{\\frac{\\sqrt{\\frac{1}{2}}}{3}}", "\\frac{\\sqrt{\\frac{1}{2}}}{3}")] // 3 levels: the authors' regex stops at 2
    [InlineData("\\boxed{\\boxed{7}}", "\\boxed{7}")]
    [InlineData("x \\boxed{5} and an unclosed \\boxed{6", "5")]
    [InlineData("\\fbox{9}", "9")]
    public void Boxed_answers_at_any_nesting_depth(string text, string expected) => Assert.Equal(expected, BoxedAnswer.FindLast(text));

    [Theory]
    [InlineData("nothing here")]
    [InlineData("\\boxed{unclosed")]
    [InlineData("\\boxed 5")]
    public void No_complete_boxed_answer(string text) => Assert.Null(BoxedAnswer.FindLast(text));

    [Theory]
    [InlineData("Thus \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}")]
    [InlineData("So the answer is 17.", "17")]
    [InlineData("The final answer is $\\frac{3}{4}$", "\\frac{3}{4}")]
    [InlineData("we get 3 apples, then 1,250 pears", "1250")]
    [InlineData("temperature drops to -4.5 degrees", "-4.5")]
    [InlineData("system<|im_start|>assistant\nIt is 8<|im_end|> and 9", "8")]
    [InlineData("ends at .5", "0.5")]
    public void Extraction_order_boxed_then_phrase_then_last_number(string response, string expected) =>
        Assert.Equal(expected, AnswerExtractor.Extract(response));

    [Fact]
    public void No_answer_at_all_is_null() => Assert.Null(AnswerExtractor.Extract("no digits here"));

    [Theory]
    [InlineData(" \\left( 1, 2 \\right) ", "(1,2)")]
    [InlineData("\\dfrac{1}{2}", "\\frac{1}{2}")]
    [InlineData("\\tfrac12", "\\frac{1}{2}")]
    [InlineData("12.0", "12")]
    [InlineData("12.500", "12.5")]
    [InlineData("1,234,567", "1234567")]
    [InlineData("1,23", "1,23")]
    [InlineData("90^\\circ", "90")]
    [InlineData("50\\%", "50")]
    [InlineData("\\$5", "5")]
    [InlineData("5\\text{ cm}", "5")]
    [InlineData("\\text{(B)}", "(B)")]
    [InlineData("x = 3", "3")]
    [InlineData("\\sqrt2", "\\sqrt{2}")]
    [InlineData("10.", "10")]
    public void Normalisation(string input, string expected) => Assert.Equal(expected, AnswerNormalizer.Normalize(input));

    [Theory]
    [InlineData("0.5", "\\frac{1}{2}")]
    [InlineData("1/2", "\\dfrac12")]
    [InlineData("2\\sqrt{3}", "\\sqrt{12}")]
    [InlineData("\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}")]
    [InlineData("\\frac{1}{\\sqrt{2}}", "\\frac{\\sqrt{2}}{2}")]
    [InlineData("1,000", "1000")]
    [InlineData("12.0", "12")]
    [InlineData("50\\%", "50")]
    [InlineData("x=3", "3")]
    [InlineData("0.333333", "\\frac{1}{3}")]
    [InlineData("(1, 2)", "\\left(1,2\\right)")]
    [InlineData("-\\frac{3}{4}", "-0.75")]
    [InlineData("2^{10}", "1024")]
    [InlineData("B", "(B)")]
    public void Equivalent(string a, string b)
    {
        Assert.True(MathEquivalence.AreEquivalent(a, b));
        Assert.True(MathEquivalence.AreEquivalent(b, a));
    }

    [Theory]
    [InlineData("0.33", "\\frac{1}{3}")]
    [InlineData("3", "4")]
    [InlineData("\\sqrt{2}", "\\sqrt{3}")]
    [InlineData("(1,2)", "(2,1)")]
    [InlineData("", "0")]
    [InlineData("1,23", "123")]
    public void Not_equivalent(string a, string b) => Assert.False(MathEquivalence.AreEquivalent(a, b));

    [Fact]
    public void Default_scores_are_plus_minus_one_and_configurable()
    {
        Assert.Equal(new RewardResult(true, "4", 1.0), MathReward.PlusMinusOne.Score("so \\boxed{4}", "4"));
        Assert.Equal(new RewardResult(false, "5", -1.0), MathReward.PlusMinusOne.Score("so \\boxed{5}", "4"));
        Assert.Equal(0.0, MathReward.OneZero.Score("so \\boxed{5}", "4").Reward);
        Assert.Equal(new RewardResult(false, null, -1.0), new MathReward().Score("no answer", "4"));
    }

    [Fact]
    public void Gsm8k_and_boxed_ground_truths()
    {
        Assert.True(MathReward.PlusMinusOne.Score("The answer is 1234.", "She has ... 1,000 + 234 = 1234\n#### 1,234").Correct);
        Assert.True(MathReward.PlusMinusOne.Score("\\boxed{0.25}", "The result is \\boxed{\\frac14}").Correct);
    }

    [Fact]
    public void Pathological_answers_are_judged_wrong_quickly()
    {
        string[] nasty =
        [
            string.Concat(Enumerable.Repeat("\\boxed{", 50_000)),
            string.Concat(Enumerable.Repeat("{", 100_000)) + "\\boxed{2}",
            "\\boxed{" + new string('9', 5000) + "}",
            "\\boxed{9^{64}^{64}}", "\\boxed{(((((2^{64})^{64})^{64})))}", "\\boxed{\\sqrt{99999999999999999999999}}",
            "\\boxed{" + string.Concat(Enumerable.Repeat("(", 5000)) + "}", "\\boxed{1/0}", "\\boxed{0^{-1}}",
            "\\boxed{" + string.Concat(Enumerable.Repeat("-", 399)) + "2}", "\\boxed{" + string.Concat(Enumerable.Repeat("1,", 50_000)) + "}",
            "\\boxed{" + string.Concat(Enumerable.Repeat("x^", 300)) + "2}", "\\boxed{10^{10^{10}}}", "\\boxed{(2^{4096})!}",
        ];
        foreach (string s in nasty)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            string head = s[..Math.Min(40, s.Length)];
            Assert.False(MathReward.PlusMinusOne.Score(s, "1").Correct, head);
            Assert.False(MathReward.PlusMinusOne.Score("\\boxed{1}", s).Correct, head);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"{clock.Elapsed} on {head}");
        }
    }

    [Fact]
    public void Equivalence_is_reflexive_on_numbers() =>
        Gen.Select(Gen.Int[-100000, 100000], Gen.Int[1, 1000]).Sample((n, d) =>
            MathEquivalence.AreEquivalent($"\\frac{{{n}}}{{{d}}}", $"{n}/{d}")
            && MathEquivalence.AreEquivalent($"\\frac{{{n * 2}}}{{{d * 2}}}", $"\\dfrac{{{n}}}{{{d}}}"),
            seed: TreePO.Core.Tests.Advantage.TreeAdvantageTests.PinnedSeed);
}
