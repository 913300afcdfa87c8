using System.Globalization;
using Spectre.Console.Cli;

namespace TreePO.Bench.Common;

/// <summary>
/// The options of one benchmark (Spectre.Console.Cli settings). A benchmark lists its problems in
/// <see cref="Check"/>, each naming the option (<see cref="AtLeast(List{string}, string, long, long)"/>,
/// <see cref="IntList"/>); Spectre prints them and the benchmark does not start.
/// </summary>
public abstract class BenchSettings : CommandSettings
{
    /// <summary>Adds a line per bad option value to <paramref name="problems"/>.</summary>
    protected abstract void Check(List<string> problems);

    /// <summary>Every problem of the option values, in one list (tests read it; Spectre reads <see cref="Validate"/>).</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        Check(problems);
        return problems;
    }

    public sealed override Spectre.Console.ValidationResult Validate() => Problems() is { Count: > 0 } problems
        ? Spectre.Console.ValidationResult.Error(string.Join("; ", problems))
        : Spectre.Console.ValidationResult.Success();

    protected static void AtLeast(List<string> problems, string option, long value, long min)
    {
        if (value < min) problems.Add($"{option}: must be at least {min}, got {value}");
    }

    protected static void AtLeast(List<string> problems, string option, double value, double min)
    {
        if (!double.IsFinite(value)) problems.Add($"{option}: '{value}' is not a number");
        else if (value < min) problems.Add($"{option}: must be at least {min.ToString(CultureInfo.InvariantCulture)}, got {value.ToString(CultureInfo.InvariantCulture)}");
    }

    /// <summary>A comma-separated list of integers (<c>--widths 4,8,16</c>): the values that parse; a problem per
    /// part that does not or is below <paramref name="min"/>, and one when none is given, when
    /// <paramref name="problems"/> is not null.</summary>
    public static int[] IntList(string option, string text, int min = int.MinValue, List<string>? problems = null)
    {
        var list = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n)) problems?.Add($"{option}: '{part}' is not an integer");
            else if (n < min) problems?.Add($"{option}: every value must be at least {min}, got {n}");
            else list.Add(n);
        }
        if (list.Count == 0 && problems is not null && problems.All(p => !p.StartsWith(option + ":", StringComparison.Ordinal)))
            problems.Add($"{option}: give at least one value");
        return [.. list];
    }
}
