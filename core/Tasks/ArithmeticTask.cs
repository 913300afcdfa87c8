using System.Globalization;
using System.Text;
using TreePO.Core.Protocol;

namespace TreePO.Core.Tasks;

/// <summary>
/// The built-in task: short multi-step integer word problems ("Tom has 12 apples. He buys 7 more. Then he gives
/// away 5. How many apples does he have now?") with a worked solution ("12+7=19. 19-5=14. \boxed{14}").
/// Problem <c>(split, index)</c> is a pure function of the seed and difficulty. The split is decided by a hash of
/// the problem's structure that does not depend on the seed: a problem is held out under every seed or under none,
/// so train and test never share a problem. Every value along the way stays between 1 and 9,999.
/// </summary>
public sealed class ArithmeticTask
{
    /// <summary>Fixed salt of the split hash; changing it would reshuffle every split.</summary>
    const ulong SplitSalt = 0x7E57_5B11_7A5C_0001UL;
    const int MaxValue = 9_999;
    const int MaxAttempts = 100_000;

    static readonly (string Name, bool She)[] People =
    [
        ("Tom", false), ("Ann", true), ("Sam", false), ("Mia", true), ("Ben", false), ("Lily", true),
        ("Max", false), ("Emma", true), ("Leo", false), ("Zoe", true), ("Jack", false), ("Nina", true),
    ];
    static readonly string[] Items = ["apples", "pens", "coins", "stickers", "books", "marbles", "cards", "shells", "cookies", "stamps"];
    static readonly string[] AddVerbs = ["buys {0} more", "finds {0} more", "gets {0} more", "is given {0} more"];
    static readonly string[] SubtractVerbs = ["gives away {0}", "loses {0}", "sells {0}", "uses {0}"];

    public ArithmeticTask(ulong seed, ArithmeticDifficulty? difficulty = null, int testPercent = 10)
    {
        Difficulty = difficulty ?? ArithmeticDifficulty.Default;
        Difficulty.Validate();
        if (testPercent is < 1 or > 99)
            throw new ArgumentOutOfRangeException(nameof(testPercent), testPercent, "the held-out share must be 1 to 99 percent");
        Seed = seed;
        TestPercent = testPercent;
    }

    public ulong Seed { get; }
    public ArithmeticDifficulty Difficulty { get; }
    public int TestPercent { get; }

    /// <summary>The split a problem of this structure belongs to (independent of seed and difficulty).</summary>
    public TaskSplit SplitOf(string canonicalKey) =>
        SeedMix.Derive(SplitSalt, canonicalKey) % 100 < (ulong)TestPercent ? TaskSplit.Test : TaskSplit.Train;

    /// <summary>Problem number <paramref name="index"/> of <paramref name="split"/>; the same arguments give the same problem.</summary>
    public ArithmeticProblem Generate(TaskSplit split, long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var rng = new Random(SeedMix.ToInt32(SeedMix.Derive(Seed, "arithmetic", (int)split, index, attempt)));
            var (start, steps) = Structure(rng);
            string key = ArithmeticProblem.CanonicalKeyOf(start, steps);
            if (SplitOf(key) == split)
                return Render(rng, $"arith-{split.ToString().ToLowerInvariant()}-{index}", start, steps);
        }
        throw new InvalidOperationException($"no {split} problem found in {MaxAttempts} attempts: the difficulty {Difficulty} allows too few problems");
    }

    /// <summary>Problems <paramref name="start"/>, <paramref name="start"/>+1, ... of a split, without end.</summary>
    public IEnumerable<ArithmeticProblem> Enumerate(TaskSplit split, long start = 0)
    {
        for (long i = start; ; i++)
            yield return Generate(split, i);
    }

    (int Start, List<ArithmeticStep> Steps) Structure(Random rng)
    {
        var d = Difficulty;
        int count = rng.Next(d.MinSteps, d.MaxSteps + 1);
        int value = rng.Next(2, d.MaxOperand + 1);
        int start = value;
        var steps = new List<ArithmeticStep>(count);
        for (int i = 0; i < count; i++)
        {
            var options = new List<ArithmeticOp>(3);
            if (value + 1 <= MaxValue)
                options.Add(ArithmeticOp.Add);
            if (value >= 2)
                options.Add(ArithmeticOp.Subtract);
            if (d.AllowMultiply && value * 3 <= MaxValue)
                options.Add(ArithmeticOp.Multiply);
            var op = options[rng.Next(options.Count)];
            int operand = op switch
            {
                ArithmeticOp.Add => rng.Next(1, Math.Min(d.MaxOperand, MaxValue - value) + 1),
                ArithmeticOp.Subtract => rng.Next(1, Math.Min(d.MaxOperand, value - 1) + 1),
                _ => rng.Next(2, 4),
            };
            var step = new ArithmeticStep(op, operand);
            steps.Add(step);
            value = step.Apply(value);
        }
        return (start, steps);
    }

    ArithmeticProblem Render(Random rng, string id, int start, List<ArithmeticStep> steps)
    {
        var (name, she) = People[rng.Next(People.Length)];
        string item = Items[rng.Next(Items.Length)];
        string pronoun = she ? "she" : "he";
        string possessive = she ? "her" : "his";

        var question = new StringBuilder($"{name} has {N(start)} {item}.");
        var solution = new StringBuilder();
        if (Difficulty.Worked) solution.Append($"{name} starts with {N(start)} {item}. ");
        int value = start;
        for (int i = 0; i < steps.Count; i++)
        {
            var step = steps[i];
            string action = step.Op switch
            {
                ArithmeticOp.Add => string.Format(CultureInfo.InvariantCulture, AddVerbs[rng.Next(AddVerbs.Length)], N(step.Operand)),
                ArithmeticOp.Subtract => string.Format(CultureInfo.InvariantCulture, SubtractVerbs[rng.Next(SubtractVerbs.Length)], N(step.Operand)),
                _ => $"{(step.Operand == 2 ? "doubles" : "triples")} {possessive} {item}",
            };
            string subject = i == 0 ? char.ToUpperInvariant(pronoun[0]) + pronoun[1..] : $"Then {pronoun}";
            question.Append($" {subject} {action}.");
            int next = step.Apply(value);
            if (Difficulty.Worked)
                solution.Append($"Step {i + 1}: {pronoun} {action}, so {N(value)}{step.Symbol}{N(step.Operand)}={N(next)} {item}. ");
            else
                solution.Append($"{N(value)}{step.Symbol}{N(step.Operand)}={N(next)}. ");
            value = next;
        }
        question.Append($" How many {item} does {pronoun} have now?");
        if (Difficulty.Worked) solution.Append($"Now {pronoun} has {N(value)} {item}. ");
        solution.Append($"\\boxed{{{N(value)}}}");
        return new ArithmeticProblem(id, question.ToString(), N(value), solution.ToString(), start, steps);
    }

    static string N(int n) => n.ToString(CultureInfo.InvariantCulture);
}
