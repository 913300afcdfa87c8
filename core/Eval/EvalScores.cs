namespace TreePO.Core.Eval;

/// <summary>mean@k, maj@k and the unbiased pass@k of a set of queries, each in [0, 1].</summary>
public sealed record EvalScores(double MeanAtK, double MajAtK, double PassAtK, int Queries, int K);
