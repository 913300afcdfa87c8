using System.Text;

namespace TreePO.Core.Reward;

/// <summary>
/// The text clean-up before <see cref="MathParser"/>: the content of a <c>\boxed{}</c>/<c>\fbox{}</c>, no <c>$</c>,
/// <c>\left</c>/<c>\right</c>, spacing commands or <c>\displaystyle</c>; <c>\dfrac</c>/<c>\tfrac</c> read as
/// <c>\frac</c>; <c>\text{...}</c> and friends unwrapped; degrees, percent signs and unit words dropped;
/// <c>\approx</c> read as <c>=</c>; a final period dropped.
/// </summary>
public static class MathAnswerText
{
    static readonly (string From, string To)[] Replacements =
    [
        ("\\left.", " "), ("\\right.", " "), ("\\left", ""), ("\\right", ""), ("\\bigl", ""), ("\\bigr", ""), ("\\Bigl", ""),
        ("\\Bigr", ""), ("\\big", ""), ("\\Big", ""), ("\\displaystyle", " "), ("\\!", ""), ("\\,", " "), ("\\;", " "),
        ("\\:", " "), ("\\ ", " "), ("\\qquad", " "), ("\\quad", " "), ("~", " "), ("\\$", " "), ("$", " "),
        ("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"), ("\\dbinom", "\\binom"), ("\\tbinom", "\\binom"),
        ("^{\\circ}", " "), ("^\\circ", " "), ("\\circ", " "), ("\\degree", " "), ("°", " "), ("\\%", " "), ("%", " "),
        ("{,}", ""), ("\\approx", "="), ("\\simeq", "="), ("\n", " "), ("\r", " "), ("\t", " "),
        ("−", "-"), ("–", "-"), ("×", "\\times "), ("·", "\\cdot "), ("÷", "\\div "), ("≤", "\\le "), ("≥", "\\ge "),
        ("≠", "\\ne "), ("π", "\\pi "), ("∞", "\\infty "), ("√", "\\sqrt"), ("∪", "\\cup "),
    ];

    static readonly string[] TextWrappers = ["\\text", "\\textbf", "\\textrm", "\\textit", "\\mathrm", "\\mathbf", "\\mbox", "\\operatorname"];

    /// <summary>Unit and filler words dropped wherever they stand alone (<c>5 cm</c>, <c>28 percent</c>, <c>\$12 dollars</c>).</summary>
    static readonly HashSet<string> DroppedWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "percent", "degree", "degrees", "cm", "mm", "km", "meter", "meters", "metre", "metres", "kg", "mg", "ml", "ft", "feet",
        "foot", "inch", "inches", "mile", "miles", "mph", "hour", "hours", "hr", "hrs", "minute", "minutes", "mins",
        "second", "seconds", "day", "days", "week", "weeks", "month", "months", "year", "years", "dollar", "dollars",
        "cent", "cents", "unit", "units", "square", "sq", "cubic", "cu", "liter", "liters", "litre", "litres", "gram",
        "grams", "pound", "pounds", "lbs", "yard", "yards", "people", "students", "apples", "points", "ways", "times",
    };

    /// <summary>Words that are an answer in themselves and never a product of variables.</summary>
    static readonly HashSet<string> AnswerWords = ["yes", "no", "none", "odd", "even", "all", "true", "false"];

    public static bool IsAnswerWord(string lower) => AnswerWords.Contains(lower);

    public static string Clean(string answer)
    {
        string s = answer.Trim();
        if (s.Length > 4 * MathParser.MaxLength) return s;
        string? boxed = BoxedAnswer.FindLast(s);
        if (boxed is not null) s = boxed;
        // A matrix row break (two backslashes) must survive the spacing commands ("\\ " is not "\ ").
        s = s.Replace("\\\\", "\u0001", StringComparison.Ordinal);
        foreach (var (from, to) in Replacements) s = s.Replace(from, to, StringComparison.Ordinal);
        s = s.Replace("\u0001", "\\\\", StringComparison.Ordinal);
        s = UnwrapText(s);
        s = DropWords(s);
        s = s.Trim();
        while (s.Length > 0 && (s[^1] == '.' || s[^1] == ' ')) s = s[..^1];
        return s.Trim();
    }

    /// <summary>The comparable text of an answer that is not mathematics: lower case, no spaces, no braces,
    /// no parentheses around it (a choice <c>(B)</c> is <c>b</c>).</summary>
    public static string TextForm(string cleaned)
    {
        var sb = new StringBuilder(cleaned.Length);
        foreach (char c in cleaned)
            if (!char.IsWhiteSpace(c) && c != '{' && c != '}') sb.Append(char.ToLowerInvariant(c));
        string t = sb.ToString();
        if (t.Length >= 2 && t[0] == '(' && t[^1] == ')') t = t[1..^1];
        return t;
    }

    /// <summary><c>\text{ and }</c> becomes <c> and </c>: the content stays, padded with spaces.</summary>
    static string UnwrapText(string s)
    {
        for (int guard = 0; guard < 64; guard++)
        {
            int best = -1;
            string? wrapper = null;
            foreach (string w in TextWrappers)
            {
                int i = s.IndexOf(w + "{", StringComparison.Ordinal);
                if (i >= 0 && (best < 0 || i < best)) { best = i; wrapper = w; }
            }
            if (best < 0) return s;
            int open = best + wrapper!.Length;
            int close = MatchingBrace(s, open);
            if (close < 0) return s;
            string inner = s[(open + 1)..close];
            // \mathrm{e}/\operatorname{sin} are math; keep a command so the parser still sees a function.
            if (wrapper == "\\operatorname") inner = "\\" + inner.Trim();
            s = s[..best] + " " + inner + " " + s[(close + 1)..];
        }
        return s;
    }

    static string DropWords(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool seenContent = false;
        int i = 0;
        while (i < s.Length)
        {
            if (!char.IsAsciiLetter(s[i]) || (i > 0 && (s[i - 1] == '\\' || char.IsAsciiLetter(s[i - 1]))))
            {
                seenContent |= s[i] != ' ';
                sb.Append(s[i++]);
                continue;
            }
            int j = i;
            while (j < s.Length && char.IsAsciiLetter(s[j])) j++;
            string word = s[i..j];
            // A unit is a whole word that follows something (a lone "cm" answer stays).
            bool drop = DroppedWords.Contains(word) && seenContent && !(j < s.Length && s[j] == '_');
            if (!drop) sb.Append(word);
            else sb.Append(' ');
            seenContent = true;
            i = j;
        }
        return sb.ToString();
    }

    /// <summary>Index of the brace that closes the one at <paramref name="open"/>, or -1.</summary>
    public static int MatchingBrace(string s, int open)
    {
        if (open < 0 || open >= s.Length || s[open] != '{') return -1;
        int depth = 0;
        for (int i = open; i < s.Length; i++)
        {
            if (s[i] == '{') depth++;
            else if (s[i] == '}' && --depth == 0) return i;
        }
        return -1;
    }
}
