namespace TreePO.Hosting.Options;

/// <summary>Where the old policy's log-probs come from (Trainer:OldLogProbs): a trainer forward, or the engine's as sampled.</summary>
public enum OldLogProbSource { Recompute, Engine }
