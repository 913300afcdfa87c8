namespace TreePO.Hosting.Rollout;

/// <summary>Where a rollout stands, reported after every finished (or failed) tree.</summary>
/// <param name="DecodedTokens">Tokens the engines sampled for the finished trees (each tree node once).</param>
public sealed record RolloutProgress(int TreesDone, int TreesFailed, int TreesTotal, int Trajectories, long DecodedTokens, TimeSpan Elapsed)
{
    public double TokensPerSecond => Elapsed.TotalSeconds > 0 ? DecodedTokens / Elapsed.TotalSeconds : 0;
}
