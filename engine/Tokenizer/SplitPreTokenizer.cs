using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace TreePO.Engine.Tokenizer;

/// <summary>
/// Hugging Face's <c>Split</c> pre-tokenizer with <c>behavior: Isolated</c>: every regex match is a piece, and so is
/// any text between matches. Hugging Face matches code points; .NET regex matches UTF-16 units, where a letter
/// outside the BMP (math italic 𝑥, rare CJK) is two surrogates and not <c>\p{L}</c>. So before matching, each such
/// code point is replaced by one BMP character of the same Unicode category; offsets are mapped back afterwards.
/// </summary>
public sealed class SplitPreTokenizer : PreTokenizer
{
    static readonly char[] StandIn = BuildStandIns();
    readonly Regex _regex;

    public SplitPreTokenizer(string pattern) => _regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text)
    {
        if (string.IsNullOrEmpty(text))
            return [];
        return text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0 ? Split(text, null) : SplitWithStandIns(text);
    }

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => PreTokenize(text.ToString());

    IEnumerable<(int Offset, int Length)> SplitWithStandIns(string text)
    {
        // start[k] = offset in `text` of the k-th character of the substituted string (plus the end).
        var sb = new StringBuilder(text.Length);
        var start = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length; i++)
        {
            start.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(StandIn[(int)CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1]))]);
                i++;
            }
            else
                sb.Append(text[i]);
        }
        start.Add(text.Length);
        return Split(sb.ToString(), start);
    }

    IEnumerable<(int Offset, int Length)> Split(string s, List<int>? start)
    {
        int pos = 0;
        foreach (Match m in _regex.Matches(s))
        {
            if (m.Length == 0)
                continue;
            if (m.Index > pos)
                yield return Map(pos, m.Index, start);
            yield return Map(m.Index, m.Index + m.Length, start);
            pos = m.Index + m.Length;
        }
        if (pos < s.Length)
            yield return Map(pos, s.Length, start);
    }

    static (int, int) Map(int from, int to, List<int>? start) =>
        start is null ? (from, to - from) : (start[from], start[to] - start[from]);

    /// <summary>For each Unicode category, the first non-ASCII BMP character of that category (used for matching only).</summary>
    static char[] BuildStandIns()
    {
        var table = new char[32];
        for (int c = 0xFFFF; c >= 0x80; c--)
        {
            if (c is >= 0xD800 and <= 0xDFFF)
                continue;
            table[(int)CharUnicodeInfo.GetUnicodeCategory((char)c)] = (char)c;
        }
        return table;
    }
}
