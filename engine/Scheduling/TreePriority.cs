namespace TreePO.Engine.Scheduling;

/// <summary>
/// Whose work comes first when slots run short: trees in the order the engine first saw them. A tree sends its next
/// round only when every request of its round is done, so the nodes its finished requests made wait, unpinned, for
/// the rest of that round. Oldest tree first keeps a few trees' working sets whole (their nodes are evicted last and
/// their requests admitted first) instead of spreading the slots over every tree and recomputing all of them. A tree
/// that has sent nothing for a while (finished, or its caller went away without releasing) loses its place, so its
/// nodes are the first to go. Model-thread only.
/// </summary>
internal sealed class TreePriority(TimeSpan idleAfter)
{
    /// <summary>The rank of an unknown or idle tree: after every active one.</summary>
    public const long Idle = long.MaxValue;

    sealed class Entry(long rank)
    {
        public long Rank { get; } = rank;
        public long LastSeen { get; set; }
    }

    readonly Dictionary<string, Entry> trees = new(StringComparer.Ordinal);
    readonly long idleMs = (long)idleAfter.TotalMilliseconds;
    long next;

    /// <summary>A request of <paramref name="treeId"/> arrived or finished: the tree is active.</summary>
    public void Touch(string? treeId)
    {
        long now = Environment.TickCount64;
        treeId ??= "";
        if (!trees.TryGetValue(treeId, out var e) || now - e.LastSeen > idleMs)
        {
            if (trees.Count >= 4096) Prune(now);
            trees[treeId] = e = new Entry(next++);
        }
        e.LastSeen = now;
    }

    /// <summary>Lower ranks come first.</summary>
    public long RankOf(string? treeId) =>
        trees.TryGetValue(treeId ?? "", out var e) && Environment.TickCount64 - e.LastSeen <= idleMs ? e.Rank : Idle;

    void Prune(long now)
    {
        foreach (var (id, e) in trees.ToList())
            if (now - e.LastSeen > idleMs) trees.Remove(id);
    }
}
