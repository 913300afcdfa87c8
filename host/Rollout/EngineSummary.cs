namespace TreePO.Hosting.Rollout;

/// <summary>One engine's share of the run (counters since the engine started).</summary>
public sealed record EngineSummary(string Engine, long Requests, long Steps, double MeanBatchSize, int MaxBatchSize);
