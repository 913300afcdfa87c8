namespace TreePO.Core.Reward;

/// <summary>
/// The equivalence of the first reward, kept only so that <c>bench reward</c> can measure how often the old and the
/// new reading disagree (<see cref="LegacyMathReward"/>); nothing else uses it. Its known false positive: <c>(1,2)</c>,
/// <c>[1,2]</c> and <c>\{1,2\}</c> compare equal (brackets are dropped). The old reading:
/// Whether two answers mean the same: equal normalised text, or equal exact values (integers, decimals, fractions,
/// LaTeX fractions, simple radicals), or, when either side was written as a decimal, equal after rounding to 6
/// places (math_verify's <c>float_rounding=6</c>). Tuples compare element by element.
/// </summary>
public static class LegacyMathEquivalence
{
    public static bool AreEquivalent(string? prediction, string? truth)
    {
        if (prediction is null || truth is null) return false;
        string a = AnswerNormalizer.Normalize(prediction);
        string b = AnswerNormalizer.Normalize(truth);
        if (a.Length == 0 || b.Length == 0) return false;
        return EquivalentNormalized(a, b);
    }

    static bool EquivalentNormalized(string a, string b)
    {
        if (string.Equals(a, b, StringComparison.Ordinal)) return true;
        if (ValuesEqual(a, b)) return true;
        var ea = SplitTuple(a);
        var eb = SplitTuple(b);
        if (ea is not null && eb is not null && ea.Count == eb.Count)
        {
            for (int i = 0; i < ea.Count; i++)
                if (!string.Equals(ea[i], eb[i], StringComparison.Ordinal) && !ValuesEqual(ea[i], eb[i])) return false;
            return true;
        }
        // Single letters and words (multiple-choice answers) compare without case or parentheses.
        return string.Equals(a.Trim('(', ')'), b.Trim('(', ')'), StringComparison.OrdinalIgnoreCase) && a.Trim('(', ')').Length > 0
            && a.Trim('(', ')').All(char.IsLetter);
    }

    static bool ValuesEqual(string a, string b)
    {
        if (!ExactParser.TryParse(a, out ExactValue va, out bool da) || !ExactParser.TryParse(b, out ExactValue vb, out bool db))
            return false;
        if (va == vb) return true;
        if (!da && !db) return false;
        double x = va.ToDouble(), y = vb.ToDouble();
        if (!double.IsFinite(x) || !double.IsFinite(y)) return false;
        return Math.Round(x, 6) == Math.Round(y, 6);
    }

    /// <summary>Top-level comma-separated elements of <c>(a,b)</c>, <c>[a,b]</c> or <c>a,b</c>; null for one element.</summary>
    static List<string>? SplitTuple(string s)
    {
        if (s.Length >= 2 && ((s[0] == '(' && s[^1] == ')') || (s[0] == '[' && s[^1] == ']') || (s.StartsWith("\\{") && s.EndsWith("\\}"))))
            s = s.StartsWith("\\{") ? s[2..^2] : s[1..^1];
        var parts = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c is '(' or '[' or '{') depth++;
            else if (c is ')' or ']' or '}') depth--;
            else if (c == ',' && depth == 0)
            {
                parts.Add(s[start..i]);
                start = i + 1;
            }
        }
        parts.Add(s[start..]);
        return parts.Count > 1 ? parts : null;
    }
}
