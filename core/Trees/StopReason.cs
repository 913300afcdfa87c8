namespace TreePO.Core.Trees;

/// <summary>Why a path stopped; the classification of its last segment (docs/paper.md §2.3).</summary>
public enum StopReason
{
    /// <summary>A boxed answer (with EOS under the default policy): <c>FINISHED</c>.</summary>
    Finished,
    /// <summary>EOS without a boxed answer: <c>EARLY_STOPPED_BY_EOS</c>.</summary>
    Eos,
    /// <summary>The response budget is used up: <c>MAX_OUTPUT_TOKENS</c>.</summary>
    MaxTokens,
    /// <summary>The path reached depth d: <c>MAX_INFER_STEPS</c>.</summary>
    MaxDepth,
    /// <summary>The segment's text repeats itself: <c>REPETITION_STOP</c>.</summary>
    Repetition,
}

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
