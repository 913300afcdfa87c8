namespace TreePO.Engine.Kv;

/// <summary>Why K/V rows the engine had computed are no longer held.</summary>
internal enum KvLoss : byte
{
    /// <summary>Still held somewhere, or never recorded as lost.</summary>
    None,
    /// <summary>A cached node's slot was evicted to make room for other work.</summary>
    Evicted,
    /// <summary>The tree released the node (or its request ended), and the rows kept after that were given up.</summary>
    Released,
}

/// <summary>
/// Which token prefixes have had their K/V computed under the current weights, and how those no longer held were lost:
/// the engine's count of recomputed context. A prefix is known by a 64-bit chained hash of its tokens (a collision
/// would only miscount). Cleared when the weights change (K/V under other weights is not the same K/V) and when it
/// reaches <see cref="Capacity"/> entries, so that an engine serving one version for a long time stays bounded.
/// </summary>
internal sealed class PrefixLedger
{
    public const int Capacity = 1 << 22;

    readonly Dictionary<ulong, KvLoss> computed = [];

    /// <summary>The hash of a prefix one token longer than the prefix whose hash is <paramref name="h"/> (0 = empty).</summary>
    public static ulong Extend(ulong h, int token)
    {
        ulong z = h ^ ((ulong)(uint)token + 0x9E3779B97F4A7C15UL + (h << 6) + (h >> 2));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Hashes of <c>tokens[..1]</c>, <c>tokens[..2]</c>, ..., <c>tokens[..n]</c>.</summary>
    public static ulong[] PrefixHashes(ReadOnlySpan<int> tokens)
    {
        var hashes = new ulong[tokens.Length];
        ulong h = 0;
        for (int i = 0; i < tokens.Length; i++) hashes[i] = h = Extend(h, tokens[i]);
        return hashes;
    }

    /// <summary>Records that the K/V of the prefix <paramref name="hash"/> was computed now; returns how it had been lost
    /// if it had been computed before (<see cref="KvLoss.None"/> otherwise: a first computation, or one whose loss was
    /// not recorded), and whether it had been computed before at all.</summary>
    public bool Compute(ulong hash, out KvLoss lostBy)
    {
        if (computed.TryGetValue(hash, out lostBy))
        {
            computed[hash] = KvLoss.None;
            return true;
        }
        if (computed.Count >= Capacity) computed.Clear();
        computed[hash] = KvLoss.None;
        return false;
    }

    /// <summary>Rows <c>[from, path.Count)</c> of a slot holding <paramref name="path"/> are given up.</summary>
    public void Lose(IReadOnlyList<int> path, int from, KvLoss cause)
    {
        if (from >= path.Count) return;
        ulong h = 0;
        for (int i = 0; i < path.Count; i++)
        {
            h = Extend(h, path[i]);
            if (i >= from && computed.ContainsKey(h)) computed[h] = cause;
        }
    }

    public void Clear() => computed.Clear();
}
