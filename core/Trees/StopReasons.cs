namespace TreePO.Core.Trees;

public static class StopReasons
{
    /// <summary>Fallback candidate priority (the authors' table: FINISHED 7, EOS 5, MAX_STEPS 4, MAX_TOKENS 3,
    /// REPETITION 2).</summary>
    public static int Priority(this StopReason reason) => reason switch
    {
        StopReason.Finished => 7,
        StopReason.Eos => 5,
        StopReason.MaxDepth => 4,
        StopReason.MaxTokens => 3,
        _ => 2,
    };

    /// <summary>The export name (snake case).</summary>
    public static string ToWire(this StopReason reason) => reason switch
    {
        StopReason.Finished => "finished",
        StopReason.Eos => "eos",
        StopReason.MaxTokens => "max_tokens",
        StopReason.MaxDepth => "max_depth",
        _ => "repetition",
    };

    public static StopReason FromWire(string name) => name switch
    {
        "finished" => StopReason.Finished,
        "eos" => StopReason.Eos,
        "max_tokens" => StopReason.MaxTokens,
        "max_depth" => StopReason.MaxDepth,
        "repetition" => StopReason.Repetition,
        _ => throw new FormatException($"unknown stop reason \"{name}\""),
    };
}
