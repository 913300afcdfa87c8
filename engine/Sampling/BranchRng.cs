namespace TreePO.Engine.Sampling;

/// <summary>
/// The uniform stream of one branch (SplitMix64): one draw per sampled token, so a branch's tokens depend only on its
/// seed and its own logits, never on what else shares the batch.
/// </summary>
public sealed class BranchRng(ulong seed)
{
    ulong state = seed;

    /// <summary>A double in [0, 1) with 53 random bits.</summary>
    public double NextDouble()
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }
}
