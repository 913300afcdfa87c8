namespace TreePO.Core.Reward;

/// <summary>
/// Pulls the final answer out of a model response, in the order of the Qwen-Math toolkit the authors use
/// (docs/paper.md §5): the last <c>\boxed{...}</c>, else the text after "the answer is" / "final answer is", else the
/// last number. Hand-written scanners, no backtracking regex: linear time on any input.
/// </summary>
public static class AnswerExtractor
{
    static readonly string[] StopMarkers = ["</s>", "<|im_end|>", "<|endoftext|>", "[END]", "</answer>"];
    static readonly string[] AnswerPhrases = ["he answer is", "final answer is"];

    /// <summary>The raw (not yet normalised) answer text, or null when the response holds none.</summary>
    public static string? Extract(string? response)
    {
        if (string.IsNullOrEmpty(response)) return null;
        string text = TrimToAssistantTurn(response);

        string? boxed = BoxedAnswer.FindLast(text);
        if (boxed is not null) return boxed.Trim();

        string? phrase = AfterAnswerPhrase(text);
        if (phrase is not null) return phrase;

        return LastNumber(text);
    }

    /// <summary>Drops everything before the assistant turn and cuts at the first end-of-turn marker.</summary>
    public static string TrimToAssistantTurn(string text)
    {
        const string assistant = "<|im_start|>assistant";
        int a = text.LastIndexOf(assistant, StringComparison.Ordinal);
        if (a >= 0) text = text[(a + assistant.Length)..];
        int cut = text.Length;
        foreach (string marker in StopMarkers)
        {
            int i = text.IndexOf(marker, StringComparison.Ordinal);
            if (i >= 0 && i < cut) cut = i;
        }
        return text[..cut];
    }

    static string? AfterAnswerPhrase(string text)
    {
        int best = -1, bestLen = 0;
        foreach (string p in AnswerPhrases)
        {
            int i = text.LastIndexOf(p, StringComparison.OrdinalIgnoreCase);
            if (i > best) { best = i; bestLen = p.Length; }
        }
        if (best < 0) return null;
        string rest = text[(best + bestLen)..];
        // The answer runs to the end of the line; a sentence-ending period followed by a space ends it too.
        int nl = rest.IndexOf('\n');
        if (nl >= 0) rest = rest[..nl];
        int stop = rest.IndexOf(". ", StringComparison.Ordinal);
        if (stop >= 0) rest = rest[..stop];
        rest = rest.Trim().TrimStart(':').Trim().TrimEnd('.').Trim();
        if (rest.Length >= 2 && rest[0] == '$' && rest[^1] == '$') rest = rest.Trim('$').Trim();
        return rest.Length == 0 ? null : rest;
    }

    /// <summary>The last number in the text (optional sign, thousands commas, decimals), or null.</summary>
    public static string? LastNumber(string text)
    {
        // Scan backwards to the last digit, then extend over digits, '.', and ',' followed by a digit.
        int end = -1;
        for (int i = text.Length - 1; i >= 0; i--)
            if (char.IsAsciiDigit(text[i])) { end = i; break; }
        if (end < 0) return null;
        int start = end;
        while (start > 0)
        {
            char p = text[start - 1];
            if (char.IsAsciiDigit(p)) start--;
            else if ((p == '.' || p == ',') && start - 2 >= 0 && char.IsAsciiDigit(text[start - 2])) start--;
            else if (p == '.') { start--; break; }
            else break;
        }
        if (start > 0 && text[start - 1] == '-') start--;
        string number = text[start..(end + 1)].Replace(",", "", StringComparison.Ordinal);
        if (number.StartsWith('.')) number = "0" + number;
        if (number.StartsWith("-.", StringComparison.Ordinal)) number = "-0" + number[1..];
        return number;
    }
}
