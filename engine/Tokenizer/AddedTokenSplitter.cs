namespace TreePO.Engine.Tokenizer;

/// <summary>
/// Cuts text at added tokens, leftmost match first and the longest token at that position, as Hugging Face's
/// added-vocabulary matcher does. Added tokens are matched on the raw text, before normalization.
/// </summary>
public sealed class AddedTokenSplitter
{
    // Candidates by first character, longest first, so the first hit at a position is the longest.
    readonly Dictionary<char, AddedToken[]> _byFirstChar;

    public AddedTokenSplitter(IEnumerable<AddedToken> tokens) =>
        _byFirstChar = tokens.GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ThenBy(t => t.Id).ToArray());

    /// <summary>The pieces of <paramref name="text"/> in order: plain text (Token null) or one added token.</summary>
    public IEnumerable<(int Offset, int Length, AddedToken? Token)> Split(string text)
    {
        int plainStart = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (!_byFirstChar.TryGetValue(text[i], out var candidates))
                continue;
            foreach (var t in candidates)
            {
                if (i + t.Content.Length > text.Length || string.CompareOrdinal(text, i, t.Content, 0, t.Content.Length) != 0)
                    continue;
                if (i > plainStart)
                    yield return (plainStart, i - plainStart, null);
                yield return (i, t.Content.Length, t);
                i += t.Content.Length - 1;
                plainStart = i + 1;
                break;
            }
        }
        if (plainStart < text.Length)
            yield return (plainStart, text.Length - plainStart, null);
    }
}
