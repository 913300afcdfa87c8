namespace TreePO.Bench.Common;

/// <summary>How a run samples: tree, the sequential baseline, or the no-sharing lower bound.</summary>
public enum RunMode
{
    /// <summary>Segment trees (w, d, l, b), budget transfer and fallback.</summary>
    Tree,
    /// <summary>The baseline: w samples per query that share the prompt (one request of w branches at the root, so
    /// the prompt is prefilled once and forked), then continue one branch each, same budget and stop rules.</summary>
    Sequential,
    /// <summary>Lower bound, not the baseline: w separate single-sample requests per query with distinct parent ids,
    /// so nothing asks the engine to share the prompt (its own token-prefix cache may still find it in a live slot).</summary>
    NoSharing,
}
