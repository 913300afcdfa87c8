using TreePO.Hosting.Options;

namespace TreePO.Hosting.Engines.Simulation;

/// <summary>How long a simulated engine step takes: a fixed cost, plus a cost per token in the batch (one per decoding
/// sequence, a chunk's worth per prefilling one), plus a cost per context token the batch attends to.</summary>
public sealed record SimulationCostModel(double StepMs, double TokenMs, double ContextTokenMs)
{
    public static SimulationCostModel From(EngineSimulationOptions o) => new(o.StepMs, o.TokenMs, o.ContextTokenMs);

    public TimeSpan StepTime(int batchTokens, long contextTokens) =>
        TimeSpan.FromMilliseconds(StepMs + TokenMs * batchTokens + ContextTokenMs * contextTokens);
}
