namespace TreePO.Hosting.Engines.Simulation;

/// <summary>The limits of one simulated engine: the real engine's (Engine:MaxSlots, Engine:KvBudgetMB,
/// Engine:PrefillChunk, the model's context) and the cost of a step.</summary>
public sealed record SimulatedEngineSettings(
    SimulationCostModel Cost, int MaxSlots, long KvBudgetBytes, int KvBytesPerToken, int PrefillChunk, int MaxSequenceLength);
