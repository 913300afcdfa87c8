using System.Text;

namespace TreePO.Core.Reward;

/// <summary>
/// Canonical text of an answer, in the spirit of the Qwen-Math <c>strip_string</c>: spaces, <c>\left</c>/<c>\right</c>,
/// <c>\dfrac</c>/<c>\tfrac</c>, degrees, percent and dollar signs, <c>\text{...}</c> units, a leading <c>x=</c>,
/// thousands separators and trailing <c>.0</c> go; <c>\frac12</c> and <c>\sqrt2</c> get their braces. Only the legacy
/// reading uses it (<see cref="LegacyMathEquivalence"/>); the reward parses answers with <see cref="MathParser"/>.
/// </summary>
public static class AnswerNormalizer
{
    /// <summary>Longer answers are not normalised further (they cannot be a short math answer anyway).</summary>
    public const int MaxLength = 2000;

    static readonly (string From, string To)[] Replacements =
    [
        ("\n", ""), ("\r", ""), ("\t", ""), ("\\!", ""), ("\\,", ""), ("\\;", ""), ("\\:", ""), ("\\ ", ""),
        ("\\left", ""), ("\\right", ""), ("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"), ("\\displaystyle", ""),
        ("^{\\circ}", ""), ("^\\circ", ""), ("°", ""), ("\\%", ""), ("%", ""), ("\\$", ""), ("$", ""),
        ("{,}", ""), ("\\cdot", "*"), ("\\times", "*"), ("\\div", "/"),
    ];

    public static string Normalize(string? answer)
    {
        if (string.IsNullOrEmpty(answer)) return string.Empty;
        string s = answer.Trim();
        if (s.Length > MaxLength) return s;
        foreach (var (from, to) in Replacements) s = s.Replace(from, to, StringComparison.Ordinal);
        s = StripUnits(s);
        s = s.Replace(" ", "", StringComparison.Ordinal);
        s = StripLeadingVariable(s);
        s = s.TrimEnd('.');
        s = FixFracs(s);
        s = FixSqrt(s);
        s = RemoveThousandsSeparators(s);
        s = StripTrailingZeros(s);
        if (s.StartsWith('.')) s = "0" + s;
        return s;
    }

    /// <summary>Unwraps <c>\text{X}</c>/<c>\mathrm{X}</c>/<c>\textbf{X}</c> when they are the whole answer, and drops
    /// a trailing one (a unit such as <c>5\text{ cm}</c>).</summary>
    static string StripUnits(string s)
    {
        string[] wrappers = ["\\text{", "\\textbf{", "\\mathrm{", "\\mbox{", "\\mathbf{"];
        s = s.Trim();
        foreach (string w in wrappers)
        {
            if (s.StartsWith(w, StringComparison.Ordinal) && MathAnswerText.MatchingBrace(s, w.Length - 1) == s.Length - 1)
                return StripUnits(s[w.Length..^1]);
        }
        foreach (string w in wrappers)
        {
            int i = s.LastIndexOf(w, StringComparison.Ordinal);
            if (i > 0 && MathAnswerText.MatchingBrace(s, i + w.Length - 1) == s.Length - 1)
                return s[..i].Trim();
        }
        return s;
    }

    /// <summary>Drops a one- or two-character left-hand side: <c>x=5</c> becomes <c>5</c>.</summary>
    static string StripLeadingVariable(string s)
    {
        int eq = s.IndexOf('=');
        if (eq > 0 && eq <= 2 && s.IndexOf('=', eq + 1) < 0 && char.IsLetter(s[0])) return s[(eq + 1)..];
        return s;
    }

    /// <summary><c>\frac12</c> becomes <c>\frac{1}{2}</c>, <c>\frac1{2}</c> becomes <c>\frac{1}{2}</c>.</summary>
    static string FixFracs(string s)
    {
        if (!s.Contains("\\frac", StringComparison.Ordinal)) return s;
        var sb = new StringBuilder(s.Length + 8);
        int i = 0;
        while (i < s.Length)
        {
            if (string.CompareOrdinal(s, i, "\\frac", 0, 5) == 0)
            {
                sb.Append("\\frac");
                i += 5;
                for (int arg = 0; arg < 2 && i < s.Length; arg++)
                {
                    if (s[i] == '{')
                    {
                        int close = MathAnswerText.MatchingBrace(s, i);
                        if (close < 0) break;
                        sb.Append(s, i, close - i + 1);
                        i = close + 1;
                    }
                    else if (s[i] != '\\')
                    {
                        sb.Append('{').Append(s[i]).Append('}');
                        i++;
                    }
                    else break;
                }
            }
            else sb.Append(s[i++]);
        }
        return sb.ToString();
    }

    /// <summary><c>\sqrt2</c> becomes <c>\sqrt{2}</c>.</summary>
    static string FixSqrt(string s)
    {
        if (!s.Contains("\\sqrt", StringComparison.Ordinal)) return s;
        var sb = new StringBuilder(s.Length + 4);
        for (int i = 0; i < s.Length; i++)
        {
            if (string.CompareOrdinal(s, i, "\\sqrt", 0, 5) == 0 && i + 5 < s.Length && s[i + 5] != '{' && s[i + 5] != '[' && s[i + 5] != '\\')
            {
                sb.Append("\\sqrt{").Append(s[i + 5]).Append('}');
                i += 5;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    /// <summary>Removes commas that sit at thousands positions of a number (1,234,567), and only those.</summary>
    static string RemoveThousandsSeparators(string s)
    {
        if (!s.Contains(',')) return s;
        var sb = new StringBuilder(s.Length);
        int i = 0;
        while (i < s.Length)
        {
            if (!char.IsAsciiDigit(s[i]) || (i > 0 && (char.IsAsciiDigit(s[i - 1]) || s[i - 1] == '.')))
            {
                sb.Append(s[i++]);
                continue;
            }
            // A run of digits with commas: check the grouping.
            int j = i;
            while (j < s.Length && (char.IsAsciiDigit(s[j]) || (s[j] == ',' && j + 1 < s.Length && char.IsAsciiDigit(s[j + 1])))) j++;
            string run = s[i..j];
            sb.Append(IsThousandsGrouped(run) ? run.Replace(",", "", StringComparison.Ordinal) : run);
            i = j;
        }
        return sb.ToString();
    }

    static bool IsThousandsGrouped(string run)
    {
        string[] parts = run.Split(',');
        if (parts.Length < 2 || parts[0].Length is < 1 or > 3) return false;
        for (int k = 1; k < parts.Length; k++) if (parts[k].Length != 3) return false;
        return true;
    }

    /// <summary><c>12.0</c> and <c>12.500</c> become <c>12</c> and <c>12.5</c>; only in plain decimal numbers.</summary>
    static string StripTrailingZeros(string s)
    {
        if (!s.Contains('.')) return s;
        var sb = new StringBuilder(s.Length);
        int i = 0;
        while (i < s.Length)
        {
            if (s[i] == '.' && i > 0 && char.IsAsciiDigit(s[i - 1]) && i + 1 < s.Length && char.IsAsciiDigit(s[i + 1]))
            {
                int j = i + 1;
                while (j < s.Length && char.IsAsciiDigit(s[j])) j++;
                string frac = s[(i + 1)..j].TrimEnd('0');
                if (frac.Length > 0) sb.Append('.').Append(frac);
                i = j;
            }
            else sb.Append(s[i++]);
        }
        return sb.ToString();
    }
}
