namespace TreePO.Engine.Training;

/// <summary>
/// What the policy loss weighs each scored position by. A position shared by several trajectories (a tree-packed
/// prefix) is computed once but counts once per trajectory that scores it, as the token-mean loss over trajectories
/// does: the clipped objective is linear in the advantage on each side of zero, so the sums of the positive and of
/// the negative advantages through the position give exactly the per-trajectory terms added up. The counts weigh the
/// statistics (clip fractions, ratio, KL) the same way. Padded positions have zeros everywhere.
/// </summary>
public sealed record TokenWeights(float[] AdvantagePositive, float[] AdvantageNegative, float[] CountPositive, float[] CountNegative, float[] Count)
{
    public static TokenWeights Zeros(int n) => new(new float[n], new float[n], new float[n], new float[n], new float[n]);

    public int Length => Count.Length;

    /// <summary>Adds one trajectory's scored token with advantage <paramref name="advantage"/> at <paramref name="i"/>.</summary>
    public void Add(int i, float advantage)
    {
        Count[i] += 1;
        if (advantage > 0) { AdvantagePositive[i] += advantage; CountPositive[i] += 1; }
        else if (advantage < 0) { AdvantageNegative[i] += advantage; CountNegative[i] += 1; }
    }

    /// <summary>Trajectory tokens counted (each shared position once per trajectory).</summary>
    public double Total => Count.Sum(c => (double)c);
}
