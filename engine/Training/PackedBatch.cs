namespace TreePO.Engine.Training;

/// <summary>
/// Samples laid out tree-packed for one forward pass. The samples that share a prompt form one tree; within it every
/// distinct token prefix is laid out once (a trie over the token sequences: the prompt once, each segment once, and
/// identical sibling segments once, which is exact because a token's log-prob depends only on the tokens before it).
/// Each token attends to itself and its ancestors (<see cref="Mask"/>) and sits at position = its depth on its own
/// path (<see cref="Positions"/>), so every log-prob equals the unpacked one. Trees are bin-packed into rows of the
/// longest tree's length (first fit, largest first): attention then costs about what the trees cost alone, and rows
/// are padded to the longest row (padding attends to itself and is never scored).
/// A response token is scored at the position of its predecessor (<see cref="ScoredRows"/>) for its own id
/// (<see cref="Targets"/>); <see cref="ResponseIndex"/> maps each sample's response tokens to their scored index.
/// </summary>
public sealed class PackedBatch
{
    public int Rows { get; private init; }
    public int Length { get; private init; }
    /// <summary>[Rows * Length] token ids, row-major.</summary>
    public long[] Ids { get; private init; } = [];
    /// <summary>[Rows * Length] position ids (depth on the token's path; 0 for padding).</summary>
    public long[] Positions { get; private init; } = [];
    /// <summary>[Rows * Length * Length]: query i of a row may attend key j.</summary>
    public bool[] Mask { get; private init; } = [];
    /// <summary>[N] flat index (row * Length + column) of the position that predicts each scored token.</summary>
    public long[] ScoredRows { get; private init; } = [];
    /// <summary>[N] the scored tokens' ids.</summary>
    public long[] Targets { get; private init; } = [];
    public TokenWeights Weights { get; private init; } = TokenWeights.Zeros(0);
    /// <summary>Per sample (in the given order), per response token: its index among the scored positions.</summary>
    public int[][] ResponseIndex { get; private init; } = [];
    /// <summary>Old log-probs per scored position from the samples' own (the first sample through a position gives
    /// it); null unless every sample carries them.</summary>
    public float[]? SampleOldLogProbs { get; private init; }
    /// <summary>Tokens laid out (no padding).</summary>
    public int Tokens { get; private init; }

    /// <summary>Trees: sample indices grouped by prompt, in order of first appearance.</summary>
    public static List<int[]> Trees(IReadOnlyList<TrainingSample> samples)
    {
        var trees = new List<List<int>>();
        var byPrompt = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int s = 0; s < samples.Count; s++)
        {
            string key = string.Join(',', samples[s].Prompt);
            if (!byPrompt.TryGetValue(key, out int t)) { t = trees.Count; byPrompt[key] = t; trees.Add([]); }
            trees[t].Add(s);
        }
        return trees.Select(t => t.ToArray()).ToList();
    }

    /// <summary>
    /// Trees cut into pieces whose tries hold at most <paramref name="pieceTokens"/> tokens each (a sample longer
    /// than that goes alone). Attention over a packed row costs its length squared whatever the mask allows, so a
    /// tree of long trajectories laid out whole costs more than its trajectories unpacked; a piece repeats its
    /// samples' shared ancestors (the prompt, the segments above the cut) as context, and each of its tokens still
    /// attends to exactly its own ancestors, so log-probs are unchanged. A tree that fits stays whole and in its order;
    /// one that does not is cut in depth-first order (samples sorted by their tokens), so siblings stay together.
    /// Each piece comes with its packed tokens: in depth-first order a sample adds what it does not share with the
    /// one before it.
    /// </summary>
    public static List<(int[] Samples, int Tokens)> Pieces(IReadOnlyList<TrainingSample> samples, int pieceTokens)
    {
        var pieces = new List<(int[], int)>();
        foreach (int[] tree in Trees(samples))
        {
            int[] order = [.. tree];
            Array.Sort(order, (a, b) => Compare(samples[a], samples[b]) is var c && c != 0 ? c : a.CompareTo(b));
            var added = new int[order.Length];
            for (int k = 0; k < order.Length; k++)
                added[k] = samples[order[k]].Length - (k == 0 ? 0 : CommonPrefix(samples[order[k - 1]], samples[order[k]]));
            if (added.Sum() <= pieceTokens) { pieces.Add((tree, added.Sum())); continue; }
            var piece = new List<int>();
            int size = 0;
            for (int k = 0; k < order.Length; k++)
            {
                int more = added[k];
                if (piece.Count > 0 && size + more > pieceTokens)
                {
                    pieces.Add(([.. piece], size));
                    piece.Clear();
                    (more, size) = (samples[order[k]].Length, 0);
                }
                piece.Add(order[k]);
                size += more;
            }
            pieces.Add(([.. piece], size));
        }
        return pieces;
    }

    static int Token(TrainingSample s, int i) => i < s.Prompt.Length ? s.Prompt[i] : s.Response[i - s.Prompt.Length];

    static int CommonPrefix(TrainingSample a, TrainingSample b)
    {
        int n = Math.Min(a.Length, b.Length), i = 0;
        while (i < n && Token(a, i) == Token(b, i)) i++;
        return i;
    }

    static int Compare(TrainingSample a, TrainingSample b)
    {
        int i = CommonPrefix(a, b);
        if (i == a.Length || i == b.Length) return a.Length.CompareTo(b.Length);
        return Token(a, i).CompareTo(Token(b, i));
    }

    /// <summary>Whole trees, laid out packed.</summary>
    public static PackedBatch Build(IReadOnlyList<TrainingSample> samples) => Build(samples, Trees(samples));

    /// <summary>Laid out packed in the given groups (<see cref="Trees"/> or <see cref="Pieces"/>: each group's samples
    /// share a prompt); a prefix shared across groups is laid out and scored in each.</summary>
    public static PackedBatch Build(IReadOnlyList<TrainingSample> samples, IReadOnlyList<int[]> groups)
    {
        if (samples.Count == 0) throw new ArgumentException("a packed batch needs at least one sample", nameof(samples));
        var tries = groups.Select(g => Trie.Of(g.Select(i => samples[i]).ToList())).ToArray();

        // Rows: first fit, largest tree first, into rows of the largest tree's length.
        int capacity = tries.Max(t => t.Count);
        var rows = new List<(List<int> Trees, int Used)>();
        foreach (int g in Enumerable.Range(0, tries.Length).OrderByDescending(g => tries[g].Count).ThenBy(g => g))
        {
            int r = rows.FindIndex(row => row.Used + tries[g].Count <= capacity);
            if (r < 0) { rows.Add(([], 0)); r = rows.Count - 1; }
            rows[r] = (rows[r].Trees, rows[r].Used + tries[g].Count);
            rows[r].Trees.Add(g);
        }
        int length = rows.Max(r => r.Used);
        int total = rows.Count * length;
        var ids = new long[total];
        var positions = new long[total];
        var parent = new int[total];
        var mask = new bool[(long)total * length];
        var offsetOfTree = new int[tries.Length];   // flat index of each tree's first token
        for (int r = 0; r < rows.Count; r++)
        {
            int column = 0;
            foreach (int g in rows[r].Trees)
            {
                offsetOfTree[g] = r * length + column;
                column += tries[g].Count;
            }
            for (int c = 0; c < length; c++) parent[r * length + c] = -1;
        }
        for (int g = 0; g < tries.Length; g++)
        {
            var trie = tries[g];
            int o = offsetOfTree[g];
            for (int j = 0; j < trie.Count; j++)
            {
                ids[o + j] = trie.Token[j];
                positions[o + j] = trie.Depth[j];
                parent[o + j] = trie.Parent[j] < 0 ? -1 : o + trie.Parent[j];
            }
        }
        // Ancestors: a token's mask row is its parent's (parents come first) plus itself; padding sees itself only.
        for (int r = 0; r < rows.Count; r++)
            for (int c = 0; c < length; c++)
            {
                int flat = r * length + c;
                long row = (long)flat * length;
                if (parent[flat] >= 0) Array.Copy(mask, (long)parent[flat] * length, mask, row, length);
                mask[row + c] = true;
            }

        // Scored positions: one per response token of the trie, weighed by every sample that counts it.
        var scoredOf = new Dictionary<int, int>();
        var scoredRows = new List<long>();
        var targets = new List<long>();
        bool withOld = samples.All(s => s.OldLogProbs is not null);
        var old = new List<float>();
        var responseIndex = new int[samples.Count][];
        var pending = new List<(int Scored, int Sample, int Token)>();
        for (int g = 0; g < tries.Length; g++)
        {
            var trie = tries[g];
            int o = offsetOfTree[g];
            for (int k = 0; k < groups[g].Length; k++)
            {
                int s = groups[g][k];
                var sample = samples[s];
                int[] path = trie.PathOf[k];
                var index = new int[sample.Response.Length];
                for (int i = 0; i < sample.Response.Length; i++)
                {
                    int flat = o + path[sample.Prompt.Length + i];
                    if (!scoredOf.TryGetValue(flat, out int n))
                    {
                        n = scoredRows.Count;
                        scoredOf[flat] = n;
                        scoredRows.Add(parent[flat]);
                        targets.Add(ids[flat]);
                        if (withOld) old.Add(sample.OldLogProbs![i]);
                    }
                    index[i] = n;
                    pending.Add((n, s, i));
                }
                if (responseIndex[s] is not null) throw new ArgumentException($"sample {s} is in more than one group", nameof(groups));
                responseIndex[s] = index;
            }
        }
        if (Array.IndexOf(responseIndex, null) is var missing && missing >= 0)
            throw new ArgumentException($"sample {missing} is in no group", nameof(groups));
        var weights = TokenWeights.Zeros(scoredRows.Count);
        foreach (var (n, s, i) in pending)
            if (samples[s].ResponseMask?[i] ?? true) weights.Add(n, samples[s].AdvantageAt(i));

        return new PackedBatch
        {
            Rows = rows.Count, Length = length, Ids = ids, Positions = positions, Mask = mask,
            ScoredRows = [.. scoredRows], Targets = [.. targets], Weights = weights, ResponseIndex = responseIndex,
            SampleOldLogProbs = withOld ? [.. old] : null, Tokens = tries.Sum(t => t.Count),
        };
    }

    /// <summary>One tree's distinct prefixes: token, parent (-1 for the first prompt token) and depth per node in
    /// creation order (parents first), and each sample's path of node indices over prompt + response.</summary>
    sealed class Trie
    {
        public readonly List<int> Token = [], Parent = [], Depth = [];
        public readonly List<int[]> PathOf = [];
        public int Count => Token.Count;

        public static Trie Of(IReadOnlyList<TrainingSample> samples)
        {
            var t = new Trie();
            var children = new Dictionary<(int Parent, int Token), int>();
            foreach (var s in samples)
            {
                var path = new int[s.Length];
                int at = -1;
                for (int i = 0; i < s.Length; i++)
                {
                    int token = i < s.Prompt.Length ? s.Prompt[i] : s.Response[i - s.Prompt.Length];
                    if (!children.TryGetValue((at, token), out int node))
                    {
                        node = t.Token.Count;
                        children[(at, token)] = node;
                        t.Token.Add(token);
                        t.Parent.Add(at);
                        t.Depth.Add(at < 0 ? 0 : t.Depth[at] + 1);
                    }
                    path[i] = node;
                    at = node;
                }
                t.PathOf.Add(path);
            }
            return t;
        }
    }
}
