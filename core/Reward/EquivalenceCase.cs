namespace TreePO.Core.Reward;

/// <summary>
/// One row of an answer-equivalence table (tests/TreePO.Core.Tests/Reward/equivalence-cases.tsv): a category, the
/// expected verdict, and two answers. <see cref="Trap"/> rows are false-positive traps: not equivalent, and a
/// reward that accepts one is wrong in the way that matters most.
/// </summary>
public sealed record EquivalenceCase(int Line, string Category, bool Equivalent, bool Trap, string Answer, string Reference)
{
    /// <summary>Reads the tab-separated table: <c>category, T|F|X, answer, reference</c>; <c>#</c> lines are comments.
    /// A malformed row is an error naming the file and line.</summary>
    public static IReadOnlyList<EquivalenceCase> Load(string path)
    {
        var cases = new List<EquivalenceCase>();
        int n = 0;
        foreach (string line in File.ReadLines(path))
        {
            n++;
            if (line.Length == 0 || line.StartsWith('#')) continue;
            string[] f = line.Split('\t');
            if (f.Length != 4) throw new FormatException($"{path}:{n}: expected 4 tab-separated fields (category, verdict, answer, reference), got {f.Length}");
            if (f[1] is not ("T" or "F" or "X")) throw new FormatException($"{path}:{n}: verdict must be T, F or X, got '{f[1]}'");
            cases.Add(new EquivalenceCase(n, f[0], f[1] == "T", f[1] == "X", f[2], f[3]));
        }
        return cases;
    }
}
