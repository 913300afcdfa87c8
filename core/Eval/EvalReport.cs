namespace TreePO.Core.Eval;

/// <summary>An evaluation's scores with what it cost.</summary>
public sealed record EvalReport(EvalScores Scores, long GeneratedTokens, double WallSeconds, IReadOnlyList<QuerySamples> Samples);
