namespace TreePO.Core.Trees;

/// <summary>
/// The authors' <c>_has_repetition(text, 32, 8)</c> (docs/paper.md §2.4): slide a window of <c>window</c> characters one
/// character at a time over the segment's text; repetitive as soon as one substring occurs <c>count</c> times
/// (overlaps count). Texts shorter than the window never are.
/// </summary>
public static class RepetitionDetector
{
    public static bool IsRepetitive(string text, int window = 32, int count = 8)
    {
        if (string.IsNullOrEmpty(text) || text.Length < window) return false;
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        ReadOnlySpan<char> s = text;
        for (int i = 0; i + window <= s.Length; i++)
        {
            ReadOnlySpan<char> key = s.Slice(i, window);
            int c = lookup.TryGetValue(key, out int v) ? v + 1 : 1;
            if (c >= count) return true;
            lookup[key] = c;
        }
        return false;
    }
}
