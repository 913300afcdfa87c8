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
