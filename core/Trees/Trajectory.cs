namespace TreePO.Core.Trees;

/// <summary>
/// One finished root-to-leaf path. Reward and correctness are filled by <see cref="SegmentTree.Score"/>; the two
/// advantages by the advantage estimators (<c>RawAdvantage</c> before batch normalisation, <c>Advantage</c> after).
/// </summary>
public sealed class Trajectory(string leaf, IReadOnlyList<string> path, StopReason stop, int round, int responseLength)
{
    public string Leaf { get; } = leaf;
    /// <summary>Node ids from the root to the leaf.</summary>
    public IReadOnlyList<string> Path { get; } = path;
    public StopReason Stop { get; } = stop;
    /// <summary>The round in which the leaf was generated (the authors' <c>traj_finish_step</c>).</summary>
    public int Round { get; } = round;
    /// <summary>Response tokens on the path (the trainer's token count for this trajectory).</summary>
    public int ResponseLength { get; } = responseLength;
    /// <summary>Segments on the path (the leaf's depth).</summary>
    public int Depth => Path.Count - 1;

    public double Reward { get; set; }
    public bool Correct { get; set; }
    public double RawAdvantage { get; set; }
    public double Advantage { get; set; }
    /// <summary>With the segment advantage: one normalised value per response node of <see cref="Path"/> (its tokens'
    /// advantage); <see cref="Advantage"/> is then their token mean. Null for the per-trajectory estimators.</summary>
    public double[]? SegmentAdvantages { get; set; }
}
