using System.Globalization;
using System.Text;

namespace TreePO.Core.Tasks;

/// <summary>
/// A generated word problem: its structure (a starting number and the steps applied to it) and the text made from
/// it. <see cref="CanonicalKey"/> is the structure alone, without names or wording: two problems with the same key
/// are the same problem, and the train / held-out split is a function of it.
/// </summary>
public sealed record ArithmeticProblem(string Id, string Question, string Answer, string Solution, int Start, IReadOnlyList<ArithmeticStep> Steps)
{
    public string CanonicalKey => CanonicalKeyOf(Start, Steps);

    /// <summary>The answer recomputed from the structure.</summary>
    public int Evaluate() => Steps.Aggregate(Start, (value, step) => step.Apply(value));

    public TaskItem ToItem() => new(Id, Question, Answer, Solution);

    public static string CanonicalKeyOf(int start, IEnumerable<ArithmeticStep> steps)
    {
        var sb = new StringBuilder(start.ToString(CultureInfo.InvariantCulture));
        foreach (var s in steps)
            sb.Append(s.Symbol).Append(s.Operand.ToString(CultureInfo.InvariantCulture));
        return sb.ToString();
    }
}
