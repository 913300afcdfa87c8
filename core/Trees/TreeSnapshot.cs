namespace TreePO.Core.Trees;

/// <summary>
/// A running tree between two rounds, as plain JSON-serialisable data. <see cref="TreeSampler.RunAsync(QueryItem,
/// string, ulong, int, TreeSnapshot?, Func{TreeSnapshot, CancellationToken, Task}?, CancellationToken)"/> resumes from
/// it and, with a deterministic generator, ends with exactly the tree an uninterrupted run gives: every random
/// choice derives from (seed, round, node id), so nothing else needs saving.
/// </summary>
/// <param name="Round">Rounds completed.</param>
/// <param name="Nodes">Every node so far, parents first.</param>
/// <param name="FinishedLeaves">Leaf ids of the finished trajectories, in finish order.</param>
/// <param name="Pending">The next round's requests, in order.</param>
/// <param name="Released">Node ids already released to the engine.</param>
public sealed record TreeSnapshot(
    string TreeId,
    string QueryId,
    ulong Seed,
    int PolicyVersion,
    int Round,
    TreeNode[] Nodes,
    string[] FinishedLeaves,
    PendingRequest[] Pending,
    string[] Released,
    SamplingStats Stats);
