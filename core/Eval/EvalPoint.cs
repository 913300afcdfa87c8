namespace TreePO.Core.Eval;

/// <summary>Held-out scores at one step: in run_state.json, summary.json, metrics.jsonl and a run's status.</summary>
public sealed record EvalPoint(int Step, double MeanAtK, double MajAtK, double PassAtK, int Queries, int K);
