namespace TreePO.Engine.Training;

/// <summary>
/// One forward pass of the policy update, as host data: which samples, laid out either tree-packed
/// (<see cref="Packed"/>) or as right-padded rows (<see cref="SequenceBatch"/>), with the loss weights and (once
/// known) the old log-probs of every scored position. Scored positions of padded rows are the [B, T-1] next-token
/// grid, flattened; those of a packed batch are its response tokens.
/// </summary>
internal sealed class PolicyBatch
{
    public required int[] Samples { get; init; }
    public PackedBatch? Packed { get; init; }
    public required TokenWeights Weights { get; init; }
    /// <summary>Per sample (in <see cref="Samples"/> order), per response token: its scored position.</summary>
    public required int[][] ResponseIndex { get; init; }
    /// <summary>The old policy's log-prob per scored position: the samples' own, or recomputed; null until known.</summary>
    public float[]? OldLogProbs { get; set; }
    /// <summary>Tokens the forward computes, without padding (the packed layout counts each shared prefix once).</summary>
    public required int Tokens { get; init; }
    /// <summary>Tokens the forward computes, padding included.</summary>
    public required int PaddedTokens { get; init; }
    /// <summary>Trajectory tokens the loss counts (a shared token once per trajectory).</summary>
    public double CountedTokens => Weights.Total;

    /// <summary>The given pieces (<see cref="PackedBatch.Pieces"/> of the samples <paramref name="indices"/> name,
    /// indexing into <paramref name="indices"/>) packed into one batch.</summary>
    public static PolicyBatch Pack(int[] indices, IReadOnlyList<TrainingSample> samples, IReadOnlyList<int[]> pieces)
    {
        int[] chosen = pieces.SelectMany(p => p.Select(k => indices[k])).ToArray();
        var local = new List<int[]>(pieces.Count);
        int next = 0;
        foreach (var p in pieces) { local.Add(Enumerable.Range(next, p.Length).ToArray()); next += p.Length; }
        var packed = PackedBatch.Build(chosen.Select(i => samples[i]).ToArray(), local);
        return new PolicyBatch
        {
            Samples = chosen, Packed = packed, Weights = packed.Weights, ResponseIndex = packed.ResponseIndex,
            OldLogProbs = packed.SampleOldLogProbs, Tokens = packed.Tokens, PaddedTokens = packed.Rows * packed.Length,
        };
    }

    public static PolicyBatch Padded(int[] indices, IReadOnlyList<TrainingSample> samples)
    {
        int t = indices.Max(i => samples[i].Length);
        int cols = t - 1;
        var weights = TokenWeights.Zeros(indices.Length * cols);
        var index = new int[indices.Length][];
        bool withOld = indices.All(i => samples[i].OldLogProbs is not null);
        var old = withOld ? new float[indices.Length * cols] : null;
        for (int r = 0; r < indices.Length; r++)
        {
            var s = samples[indices[r]];
            index[r] = new int[s.Response.Length];
            for (int i = 0; i < s.Response.Length; i++)
            {
                int col = r * cols + s.Prompt.Length - 1 + i;
                index[r][i] = col;
                if (s.ResponseMask?[i] ?? true) weights.Add(col, s.AdvantageAt(i));
                if (old is not null) old[col] = s.OldLogProbs![i];
            }
        }
        return new PolicyBatch
        {
            Samples = indices, Weights = weights, ResponseIndex = index, OldLogProbs = old,
            Tokens = indices.Sum(i => samples[i].Length), PaddedTokens = indices.Length * t,
        };
    }
}
