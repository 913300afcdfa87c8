namespace TreePO.Hosting.Options;

/// <summary>
/// The simulated engine (<c>Engine:Simulated</c>): an engine that sleeps for the time a cost model gives a step
/// instead of computing it, and answers from a seeded script (host/Engines/Simulation; docs/benchmarks.md, `bench
/// scale`). The step defaults are the built-in model's measured on this project's 2-core machine by `bench engine`
/// (1.40 ms a step + 0.104 ms a sequence, docs/benchmarks.md); the context cost is an estimate (attention reads every
/// context token, a small share of the built-in model's step). The answer lengths follow the built-in model's: mean
/// response length 26-28 tokens in the default training run (docs/results/train-default-metrics.jsonl), spread assumed.
/// </summary>
public sealed class EngineSimulationOptions
{
    /// <summary>Fixed milliseconds of every step, whatever its batch.</summary>
    public double StepMs { get; set; } = 1.40;

    /// <summary>Milliseconds per token in the step's batch (a decoding sequence's one token, or a prefill chunk's tokens).</summary>
    public double TokenMs { get; set; } = 0.104;

    /// <summary>Milliseconds per context token the step's sequences attend to (estimate).</summary>
    public double ContextTokenMs { get; set; } = 0.0002;

    /// <summary>Mean response length of an answer, in tokens (from the prompt's end to its EOS).</summary>
    public double ResponseMean { get; set; } = 27;

    /// <summary>Standard deviation of the response length, in tokens.</summary>
    public double ResponseStdDev { get; set; } = 8;

    /// <summary>Shortest answer, in tokens.</summary>
    public int ResponseMin { get; set; } = 6;

    /// <summary>KV bytes one token holds (the budget is Engine:KvBudgetMB).</summary>
    public int KvBytesPerToken { get; set; } = 4096;

    /// <summary>Errors naming their key (the caller prefixes "TreePO:").</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Check(bool ok, string key, string why) { if (!ok) errors.Add($"Engine:Simulation:{key}: {why}"); }
        Check(double.IsFinite(StepMs) && StepMs >= 0, "StepMs", $"must be 0 or more, got {StepMs}");
        Check(double.IsFinite(TokenMs) && TokenMs >= 0, "TokenMs", $"must be 0 or more, got {TokenMs}");
        Check(double.IsFinite(ContextTokenMs) && ContextTokenMs >= 0, "ContextTokenMs", $"must be 0 or more, got {ContextTokenMs}");
        Check(ResponseMin >= 1, "ResponseMin", $"must be at least 1, got {ResponseMin}");
        Check(double.IsFinite(ResponseMean) && ResponseMean >= ResponseMin, "ResponseMean", $"must be at least ResponseMin ({ResponseMin}), got {ResponseMean}");
        Check(double.IsFinite(ResponseStdDev) && ResponseStdDev >= 0, "ResponseStdDev", $"must be 0 or more, got {ResponseStdDev}");
        Check(KvBytesPerToken >= 1, "KvBytesPerToken", $"must be at least 1, got {KvBytesPerToken}");
        return errors;
    }
}
