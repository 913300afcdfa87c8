namespace TreePO.Core.Tasks;

/// <summary>
/// How hard the generated problems are: the number of operations (drawn uniformly in [MinSteps, MaxSteps]), the
/// largest starting number and added or subtracted amount, whether "doubles"/"triples" steps appear, and whether the
/// solution is worked out in sentences (<see cref="Worked"/>) or as bare equations.
/// </summary>
public sealed record ArithmeticDifficulty(int MinSteps, int MaxSteps, int MaxOperand, bool AllowMultiply)
{
    public const int MaxLevel = 5;

    /// <summary>Worked solutions restate the start, each step's action and its running total in a sentence, then the
    /// result (chain-of-thought style, 80-200 tokens), instead of the bare <c>12+7=19. 19-5=14.</c> form.</summary>
    public bool Worked { get; init; }

    /// <summary>Level 2: the built-in model's task.</summary>
    public static ArithmeticDifficulty Default => Level(2);

    /// <summary>1: one or two steps on numbers up to 10; 2: two or three up to 20; 3: two to four up to 50 with products;
    /// 4: three to five up to 99; 5: five to eight steps up to 20, worked (long answers on level 2's arithmetic: deep
    /// trees that share long prefixes).</summary>
    public static ArithmeticDifficulty Level(int level) => level switch
    {
        1 => new(1, 2, 10, false),
        2 => new(2, 3, 20, false),
        3 => new(2, 4, 50, true),
        4 => new(3, 5, 99, true),
        5 => new(5, 8, 20, false) { Worked = true },
        _ => throw new ArgumentOutOfRangeException(nameof(level), level, $"difficulty level must be 1 to {MaxLevel}"),
    };

    /// <summary>Whether <paramref name="level"/> is a level with worked (long) solutions; false for a level that
    /// does not exist (reported where the level is checked).</summary>
    public static bool IsWorked(int level) => level is >= 1 and <= MaxLevel && Level(level).Worked;

    public void Validate()
    {
        if (MinSteps < 1 || MaxSteps < MinSteps)
            throw new ArgumentException($"steps must satisfy 1 <= MinSteps <= MaxSteps (got {MinSteps}..{MaxSteps})");
        if (MaxOperand < 2)
            throw new ArgumentException($"MaxOperand must be at least 2 (got {MaxOperand})");
    }
}
