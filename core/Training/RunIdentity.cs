namespace TreePO.Core.Training;

/// <summary>Who a run is, as summary.json names it: its id, algorithm, advantage estimator (resolved), whether the tree
/// advantage drops the root group's term, the model it started from, and the run seed.</summary>
public sealed record RunIdentity(string RunId, string Algo, string Advantage, bool NoRoot, string ModelDir, ulong Seed);
