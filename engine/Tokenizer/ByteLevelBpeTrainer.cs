using System.Text;

namespace TreePO.Engine.Tokenizer;

/// <summary>
/// Learns a small byte-level BPE from a corpus, for the built-in model: 256 byte tokens (id = byte value), then one
/// token per learned merge, then the added special tokens. Text is cut exactly as <see cref="HfTokenizer"/> will cut
/// it (added tokens, NFC, the Qwen split regex), so every training word encodes as it was trained. Deterministic: ties
/// between equally frequent pairs go to the smaller (left id, right id).
/// </summary>
public static class ByteLevelBpeTrainer
{
    public static readonly IReadOnlyList<string> DefaultSpecialTokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

    /// <param name="corpus">Training texts; special-token text inside them is skipped, not learned.</param>
    /// <param name="maxMerges">At most this many merges; fewer when no pair occurs <paramref name="minFrequency"/> times.</param>
    public static TokenizerSpec Train(IEnumerable<string> corpus, int maxMerges, IReadOnlyList<string>? specialTokens = null, int minFrequency = 2)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxMerges);
        ArgumentOutOfRangeException.ThrowIfLessThan(minFrequency, 1);
        specialTokens ??= DefaultSpecialTokens;
        if (specialTokens.Distinct(StringComparer.Ordinal).Count() != specialTokens.Count || specialTokens.Any(string.IsNullOrEmpty))
            throw new ArgumentException("special tokens must be distinct and non-empty", nameof(specialTokens));

        var tokens = new List<string>(256 + maxMerges);
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int b = 0; b < 256; b++)
        {
            tokens.Add(ByteLevelAlphabet.Of((byte)b).ToString());
            ids[tokens[b]] = b;
        }

        var (words, counts) = CountWords(corpus, specialTokens);
        var merges = new List<(string, string)>(maxMerges);
        var pairCounts = new Dictionary<(int, int), long>();
        while (merges.Count < maxMerges)
        {
            pairCounts.Clear();
            for (int w = 0; w < words.Count; w++)
            {
                int[] s = words[w];
                for (int i = 0; i + 1 < s.Length; i++)
                    pairCounts[(s[i], s[i + 1])] = pairCounts.GetValueOrDefault((s[i], s[i + 1])) + counts[w];
            }
            (int, int) best = default;
            long bestCount = 0;
            foreach (var (pair, n) in pairCounts)
                if (n > bestCount || (n == bestCount && pair.CompareTo(best) < 0))
                    (best, bestCount) = (pair, n);
            if (bestCount < minFrequency)
                break;

            string merged = tokens[best.Item1] + tokens[best.Item2];
            if (!ids.TryGetValue(merged, out int newId))
            {
                newId = tokens.Count;
                tokens.Add(merged);
                ids[merged] = newId;
            }
            merges.Add((tokens[best.Item1], tokens[best.Item2]));
            for (int w = 0; w < words.Count; w++)
                words[w] = Apply(words[w], best, newId);
        }

        var added = specialTokens.Select((t, i) => new AddedToken(tokens.Count + i, t, Special: true)).ToList();
        return new TokenizerSpec(ids, merges, added, TokenizerSpec.QwenSplitPattern, NormalizationForm.FormC);
    }

    /// <summary>Writes tokenizer.json and tokenizer_config.json (Qwen2 style: ChatML template, EOS and pad tokens) into <paramref name="dir"/>.</summary>
    public static void Save(TokenizerSpec spec, string dir, string eosToken = "<|im_end|>", string padToken = "<|endoftext|>", int modelMaxLength = 256)
    {
        Directory.CreateDirectory(dir);
        spec.Write(Path.Combine(dir, "tokenizer.json"));
        ModelFiles.WriteTokenizerConfig(Path.Combine(dir, "tokenizer_config.json"), spec.AddedTokens, eosToken, padToken, modelMaxLength);
    }

    /// <summary>Distinct words of the corpus as byte-id sequences, with their counts (in first-seen order).</summary>
    static (List<int[]> Words, List<long> Counts) CountWords(IEnumerable<string> corpus, IReadOnlyList<string> specialTokens)
    {
        var splitter = new AddedTokenSplitter(specialTokens.Select((t, i) => new AddedToken(i, t, true)));
        var pre = new SplitPreTokenizer(TokenizerSpec.QwenSplitPattern);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var words = new List<int[]>();
        var counts = new List<long>();
        foreach (string text in corpus)
        {
            foreach (var (offset, length, token) in splitter.Split(text))
            {
                if (token is not null)
                    continue;
                string plain = text.Substring(offset, length).Normalize(NormalizationForm.FormC);
                foreach (var (o, l) in pre.PreTokenize(plain))
                {
                    string word = plain.Substring(o, l);
                    if (index.TryGetValue(word, out int k))
                    {
                        counts[k]++;
                        continue;
                    }
                    index[word] = words.Count;
                    words.Add(Encoding.UTF8.GetBytes(word).Select(b => (int)b).ToArray());
                    counts.Add(1);
                }
            }
        }
        return (words, counts);
    }

    static int[] Apply(int[] word, (int Left, int Right) pair, int newId)
    {
        if (word.Length < 2)
            return word;
        List<int>? result = null;
        for (int i = 0; i < word.Length; i++)
        {
            if (i + 1 < word.Length && word[i] == pair.Left && word[i + 1] == pair.Right)
            {
                result ??= new List<int>(word[..i]);
                result.Add(newId);
                i++;
            }
            else
                result?.Add(word[i]);
        }
        return result?.ToArray() ?? word;
    }
}
