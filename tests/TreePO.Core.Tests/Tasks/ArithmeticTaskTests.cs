using System.Globalization;
using System.Text.RegularExpressions;
using TreePO.Core.Tasks;

namespace TreePO.Core.Tests.Tasks;

public sealed partial class ArithmeticTaskTests
{
    [Fact]
    public void Same_seed_same_problems_and_another_seed_others()
    {
        var a = new ArithmeticTask(seed: 7);
        var b = new ArithmeticTask(seed: 7);
        var c = new ArithmeticTask(seed: 8);
        for (int i = 0; i < 50; i++)
        {
            var p = a.Generate(TaskSplit.Train, i);
            var q = b.Generate(TaskSplit.Train, i);
            Assert.Equal(p.Question, q.Question);
            Assert.Equal(p.Solution, q.Solution);
            Assert.Equal(p.Id, q.Id);
        }
        int same = Enumerable.Range(0, 50).Count(i => a.Generate(TaskSplit.Train, i).Question == c.Generate(TaskSplit.Train, i).Question);
        Assert.True(same < 5, $"{same} of 50 problems equal under different seeds");
        Assert.Equal(a.Enumerate(TaskSplit.Test, 10).Take(3).Select(p => p.Id), ["arith-test-10", "arith-test-11", "arith-test-12"]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Answers_and_every_solution_line_are_correct(int level)
    {
        var task = new ArithmeticTask(seed: 1, ArithmeticDifficulty.Level(level));
        foreach (var split in new[] { TaskSplit.Train, TaskSplit.Test })
            for (int i = 0; i < 200; i++)
            {
                var p = task.Generate(split, i);
                // Recompute from the structure, independently of the generator's own bookkeeping.
                int value = p.Start;
                foreach (var s in p.Steps)
                {
                    value = s.Op switch { ArithmeticOp.Add => value + s.Operand, ArithmeticOp.Subtract => value - s.Operand, _ => value * s.Operand };
                    Assert.InRange(value, 1, 9_999);
                }
                Assert.Equal(value.ToString(CultureInfo.InvariantCulture), p.Answer);
                Assert.EndsWith($"\\boxed{{{p.Answer}}}", p.Solution);

                // Each "a?b=c." of the worked solution is true arithmetic and they chain.
                var equations = Equation().Matches(p.Solution);
                Assert.Equal(p.Steps.Count, equations.Count);
                int running = p.Start;
                foreach (Match m in equations)
                {
                    int a = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), b = int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
                    int c = int.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture);
                    Assert.Equal(running, a);
                    Assert.Equal(m.Groups[2].Value switch { "+" => a + b, "-" => a - b, _ => a * b }, c);
                    running = c;
                }
                Assert.StartsWith($"{p.Start.ToString(CultureInfo.InvariantCulture)} ", p.Question.Split(" has ")[1]);
                Assert.EndsWith("have now?", p.Question);
            }
    }

    [Fact]
    public void Train_and_test_never_share_a_problem()
    {
        // Level 1 has the smallest problem space, so overlaps would show first there.
        foreach (int level in new[] { 1, 2 })
        {
            var task = new ArithmeticTask(seed: 3, ArithmeticDifficulty.Level(level));
            var train = Enumerable.Range(0, 3000).Select(i => task.Generate(TaskSplit.Train, i)).ToList();
            var test = Enumerable.Range(0, 500).Select(i => task.Generate(TaskSplit.Test, i)).ToList();
            Assert.All(train, p => Assert.Equal(TaskSplit.Train, task.SplitOf(p.CanonicalKey)));
            Assert.All(test, p => Assert.Equal(TaskSplit.Test, task.SplitOf(p.CanonicalKey)));
            var trainKeys = train.Select(p => p.CanonicalKey).ToHashSet();
            Assert.DoesNotContain(test, p => trainKeys.Contains(p.CanonicalKey));
            // Another seed draws other problems but the same partition: its test problems are never in this train set.
            var other = new ArithmeticTask(seed: 99, ArithmeticDifficulty.Level(level));
            Assert.DoesNotContain(Enumerable.Range(0, 500).Select(i => other.Generate(TaskSplit.Test, i)), p => trainKeys.Contains(p.CanonicalKey));
        }
    }

    [Fact]
    public void The_test_share_is_about_what_was_asked()
    {
        var task = new ArithmeticTask(seed: 0, testPercent: 10);
        var random = new Random(5);
        int test = 0, n = 4000;
        for (int i = 0; i < n; i++)
        {
            var steps = new[] { new ArithmeticStep(ArithmeticOp.Add, random.Next(1, 100)), new ArithmeticStep(ArithmeticOp.Subtract, random.Next(1, 100)) };
            if (task.SplitOf(ArithmeticProblem.CanonicalKeyOf(random.Next(100, 1000), steps)) == TaskSplit.Test)
                test++;
        }
        Assert.InRange(test, n * 7 / 100, n * 13 / 100);
    }

    [Fact]
    public void Higher_difficulty_means_more_steps_and_larger_numbers()
    {
        double previousSteps = 0, previousMax = 0;
        for (int level = 1; level <= ArithmeticDifficulty.MaxLevel; level++)
        {
            var d = ArithmeticDifficulty.Level(level);
            var task = new ArithmeticTask(seed: 11, d);
            var problems = Enumerable.Range(0, 300).Select(i => task.Generate(TaskSplit.Train, i)).ToList();
            Assert.All(problems, p => Assert.InRange(p.Steps.Count, d.MinSteps, d.MaxSteps));
            Assert.All(problems, p => Assert.InRange(p.Start, 2, d.MaxOperand));
            Assert.All(problems.SelectMany(p => p.Steps), s => Assert.InRange(s.Operand, 1, d.MaxOperand));
            Assert.Equal(d.AllowMultiply, problems.Any(p => p.Steps.Any(s => s.Op == ArithmeticOp.Multiply)));
            double steps = problems.Average(p => p.Steps.Count);
            double max = problems.Average(p => p.Steps.Max(s => s.Operand));
            Assert.True(steps > previousSteps, $"level {level}: mean steps {steps} not above {previousSteps}");
            // Level 5 keeps level 2's numbers and lengthens the chain and the answer instead.
            if (!d.Worked) Assert.True(max > previousMax, $"level {level}: mean largest operand {max} not above {previousMax}");
            (previousSteps, previousMax) = (steps, max);
        }
    }

    [Fact]
    public void Worked_solutions_restate_every_step_and_end_boxed()
    {
        var d = ArithmeticDifficulty.Level(ArithmeticDifficulty.MaxLevel);
        Assert.True(d.Worked);
        var task = new ArithmeticTask(seed: 4, d);
        var problems = Enumerable.Range(0, 200).Select(i => task.Generate(TaskSplit.Train, i)).ToList();
        foreach (var p in problems)
        {
            int value = p.Start;
            string item = p.Question.Split(' ')[3].TrimEnd('.');   // "Tom has 12 apples. ..."
            Assert.StartsWith($"{p.Question.Split(' ')[0]} starts with {p.Start} {item}. ", p.Solution);
            for (int i = 0; i < p.Steps.Count; i++)
            {
                int next = p.Steps[i].Apply(value);
                Assert.Contains($"Step {i + 1}: ", p.Solution);
                Assert.Contains($"{value}{p.Steps[i].Symbol}{p.Steps[i].Operand}={next} {item}. ", p.Solution);
                value = next;
            }
            Assert.EndsWith($"has {value} {item}. \\boxed{{{p.Answer}}}", p.Solution);
            Assert.Equal(value.ToString(), p.Answer);
        }
        // Long enough for deep trees: about 200-520 characters (80-200 tokens of a BPE trained on the task's text).
        Assert.InRange(problems.Average(p => p.Solution.Length), 200, 520);
        Assert.All(problems, p => Assert.InRange(p.Solution.Length, 150, 700));
    }

    [Fact]
    public void Problems_stay_short()
    {
        var task = new ArithmeticTask(seed: 2);
        var problems = Enumerable.Range(0, 200).Select(i => task.Generate(TaskSplit.Train, i)).ToList();
        Assert.All(problems, p => Assert.True(p.Question.Length < 200 && p.Solution.Length < 80, p.Question + " / " + p.Solution));
    }

    [Fact]
    public void Bad_settings_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ArithmeticDifficulty.Level(0));
        Assert.Throws<ArgumentException>(() => new ArithmeticTask(1, new ArithmeticDifficulty(3, 2, 10, false)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ArithmeticTask(1, testPercent: 0));
    }

    [GeneratedRegex(@"(\d+)([+\-*])(\d+)=(\d+)\.")]
    private static partial Regex Equation();
}
