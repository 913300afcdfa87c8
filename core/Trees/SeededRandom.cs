namespace TreePO.Core.Trees;

/// <summary>SplitMix64: a tiny, fully specified generator, so that a seed gives the same tree on any .NET version
/// (System.Random's seeded algorithm is an implementation detail).</summary>
public sealed class SeededRandom(ulong seed)
{
    ulong _state = seed;

    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>The value <see cref="NextDouble"/> returns next, without drawing it (a step that may be retried
    /// reads its draws first and takes them only once it succeeds).</summary>
    public double PeekDouble()
    {
        ulong saved = _state;
        double value = NextDouble();
        _state = saved;
        return value;
    }

    /// <summary>Uniform integer in [min, max], both inclusive.</summary>
    public int NextInclusive(int min, int max)
    {
        if (max < min) throw new ArgumentOutOfRangeException(nameof(max), $"max {max} < min {min}");
        ulong span = (ulong)((long)max - min + 1);
        // Rejection sampling avoids modulo bias.
        ulong limit = ulong.MaxValue - ulong.MaxValue % span;
        ulong v;
        do v = NextUInt64(); while (v >= limit);
        return (int)(min + (long)(v % span));
    }

    /// <summary>Standard Gumbel noise.</summary>
    public double NextGumbel()
    {
        double u = NextDouble();
        return -Math.Log(-Math.Log(u + 1e-20) + 1e-20);
    }

    /// <summary>Fisher-Yates in place.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = NextInclusive(0, i);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
