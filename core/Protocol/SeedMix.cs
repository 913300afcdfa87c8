namespace TreePO.Core.Protocol;

/// <summary>
/// Derives independent, reproducible seeds from a run seed and a path of names and numbers
/// (run seed, step, query, node, branch). Stable across processes and .NET versions (no string.GetHashCode).
/// </summary>
public static class SeedMix
{
    public static ulong Derive(ulong seed, params object[] parts)
    {
        ulong h = SplitMix(seed ^ 0x9E3779B97F4A7C15UL);
        foreach (object p in parts)
        {
            ulong v = p switch
            {
                string s => Fnv1a(s),
                int i => (ulong)(uint)i,
                long l => (ulong)l,
                ulong u => u,
                uint ui => ui,
                _ => Fnv1a(p.ToString() ?? string.Empty),
            };
            h = SplitMix(h ^ SplitMix(v + 0x632BE59BD9B4E019UL));
        }
        return h;
    }

    /// <summary>A 31-bit seed for <see cref="System.Random"/>.</summary>
    public static int ToInt32(ulong seed) => (int)(seed & 0x7FFFFFFF);

    static ulong SplitMix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    static ulong Fnv1a(string s)
    {
        ulong h = 0xcbf29ce484222325UL;
        foreach (char c in s)
        {
            h ^= c;
            h *= 0x100000001b3UL;
        }
        return h;
    }
}
