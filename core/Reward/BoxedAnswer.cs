namespace TreePO.Core.Reward;

/// <summary>
/// Finds <c>\boxed{...}</c> with brace matching at any nesting depth (the authors' regex stops at two levels,
/// docs/paper.md, deviation 6). One left-to-right pass with a stack, so it is linear in the text length whatever the input.
/// </summary>
public static class BoxedAnswer
{
    const string Marker = "\\boxed{";
    const string FboxMarker = "\\fbox{";

    /// <summary>The content of the last complete boxed expression (the one that closes last), or null.</summary>
    public static string? FindLast(string text)
    {
        if (string.IsNullOrEmpty(text) || (!text.Contains(Marker, StringComparison.Ordinal) && !text.Contains(FboxMarker, StringComparison.Ordinal)))
            return null;
        // Each open brace remembers where a boxed content starts (or -1 for an ordinary brace).
        var open = new Stack<int>();
        int bestStart = -1, bestEnd = -1;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '{')
            {
                int contentStart = -1;
                if (EndsWithAt(text, i, Marker)) contentStart = i + 1;
                else if (EndsWithAt(text, i, FboxMarker)) contentStart = i + 1;
                open.Push(contentStart);
            }
            else if (c == '}' && open.Count > 0)
            {
                int start = open.Pop();
                if (start >= 0)
                {
                    bestStart = start;
                    bestEnd = i;
                }
            }
        }
        return bestStart < 0 ? null : text[bestStart..bestEnd];
    }

    /// <summary>True when the text holds at least one complete boxed expression.</summary>
    public static bool Contains(string text) => FindLast(text) is not null;

    // True when the marker (which ends with '{') ends exactly at position i.
    static bool EndsWithAt(string text, int i, string marker)
    {
        int start = i - marker.Length + 1;
        return start >= 0 && string.CompareOrdinal(text, start, marker, 0, marker.Length) == 0;
    }
}
