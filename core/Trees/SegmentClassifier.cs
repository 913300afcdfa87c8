using TreePO.Core.Reward;

namespace TreePO.Core.Trees;

/// <summary>
/// Classifies a new segment, in the reference order (§2.3), first match wins: repetition (only when most
/// prioritized), boxed stop, EOS, response budget, depth limit, repetition. Null: the path goes deeper.
/// The boxed check runs on this segment's text only; EOS is looked for at every position (docs/paper.md, deviation 5) by the caller.
/// </summary>
public static class SegmentClassifier
{
    public static StopReason? Classify(TreeConfig config, string text, bool hasEos, int responseLength, int depth)
    {
        if (config.Repetition == RepetitionPriority.MostPrioritized && Repetitive(config, text)) return StopReason.Repetition;
        bool boxed = BoxedAnswer.Contains(text);
        if (boxed && (config.BoxedStop == BoxedStopPolicy.BoxedAsEos || hasEos)) return StopReason.Finished;
        if (hasEos) return StopReason.Eos;
        if (responseLength >= config.ResponseBudget) return StopReason.MaxTokens;
        if (depth >= config.Depth) return StopReason.MaxDepth;
        if (Repetitive(config, text)) return StopReason.Repetition;
        return null;
    }

    static bool Repetitive(TreeConfig config, string text) =>
        RepetitionDetector.IsRepetitive(text, config.RepetitionWindow, config.RepetitionCount);

    /// <summary>Index of the first token that is an EOS id, or -1 (every position is checked, index 0 included).</summary>
    public static int FirstEos(IReadOnlyList<int> tokens, IReadOnlySet<int> eosIds)
    {
        for (int i = 0; i < tokens.Count; i++)
            if (eosIds.Contains(tokens[i])) return i;
        return -1;
    }
}
