using TreePO.Core.Protocol;
using TreePO.Core.Trees;
using TreePO.Engine.Kv;
using TreePO.Engine.Sampling;

namespace TreePO.Engine.Scheduling;

/// <summary>
/// Which requests run: the waiting queue and the running batch, admission by tree priority under slot and KV-budget
/// pressure, eviction of cached slots to make room, and the end of a request (completed, failed, cancelled).
/// Model-thread only.
/// </summary>
/// <param name="publish">Refreshes the engine's statistics; called before a failed or cancelled caller wakes up.</param>
internal sealed class SegmentScheduler(KvPool pool, KvCache cache, int maxSequenceLength, Action publish)
{
    readonly TreePriority priority = new(TimeSpan.FromSeconds(2));
    long arrivals;
    /// <summary>The slots waiting requests would reuse, found once per admission pass when room is first needed.</summary>
    HashSet<KvSlot>? wanted;

    /// <summary>How many waiting requests (in queue order) name the slots room is made elsewhere for first: enough for
    /// the prompts of a training step, few enough that a long queue does not cost every step a scan of the cache.</summary>
    const int WantedLookahead = 64;

    public LinkedList<RequestState> Waiting { get; } = new();
    public List<RequestState> Running { get; } = [];
    public long Completed { get; private set; }
    public long Failed { get; private set; }
    /// <summary>Context tokens whose K/V came from the cache.</summary>
    public long Reused { get; private set; }
    /// <summary>Nothing runs and requests wait: nothing they need fits until trees release nodes.</summary>
    public bool Stalled => Running.Count == 0 && Waiting.Count > 0;

    /// <summary>Tokens each branch may sample: the request's MaxTokens, capped by the slot length.</summary>
    public int MaxNew(SegmentRequest r) => Math.Min(r.MaxTokens, maxSequenceLength - r.Context.Length);

    /// <summary>Rows one branch may write: the context and every sampled token but the last (fed by the next request).</summary>
    public int Capacity(SegmentRequest r) => r.Context.Length + MaxNew(r) - 1;

    /// <summary>Queues a request and pins the cached node it continues, so that other work does not evict it while it
    /// waits (it would have to prefill its whole context again).</summary>
    public void Enqueue(RequestState r)
    {
        r.Arrival = arrivals++;
        priority.Touch(r.Request.TreeId);
        Waiting.AddLast(r);
        if (CachedParent(r.Request) is { } parent)
        {
            parent.Pins++;
            r.Pin = parent;
        }
    }

    /// <summary>
    /// Moves waiting requests into the running batch, by tree priority (<see cref="TreePriority"/>), then those whose
    /// parent node is cached (they extend it in place and need few new slots), then arrival. A request may evict the
    /// nodes of less important trees and its own tree's unpinned nodes, never a node that a more important tree or a
    /// waiting request of its own tree continues; a request that does not fit waits (the KV budget always holds).
    /// Requests bound to another policy version than <paramref name="policyVersion"/> fail.
    /// </summary>
    public void Admit(int policyVersion)
    {
        for (var n = Waiting.First; n is not null;)
        {
            var next = n.Next;
            var r = n.Value;
            if (r.Request.PolicyVersion >= 0 && r.Request.PolicyVersion != policyVersion)
                Fail(r, new PolicyVersionMismatchException(r.Request.PolicyVersion, policyVersion));
            n = next;
        }
        wanted = null;
        foreach (var (r, rank) in Prioritised())
        {
            try
            {
                if (TryAdmit(r, s => SlotRank(s) is long k && (k > rank || (k == rank && !s.Pinned)))) Start(r);
            }
            catch (InvalidOperationException e)
            {
                // A bookkeeping fault while placing this request: it fails alone rather than being retried forever.
                Fail(r, new InvalidOperationException($"admission failed: {e.Message}", e));
            }
        }
    }

    /// <summary>
    /// Requests admitted in one step may share a prefix none of them found cached (prompts behind one chat template,
    /// a tree's first fork asked by two engines' worth of queries); the prefill budget then computes one of them in a
    /// later step than the other, or the first part of one in the step that computes all of the other. Before each
    /// step, a request still prefilling takes the rows another slot has computed past what it holds instead of
    /// computing them again (a row's K/V depends only on the tokens up to it, so rows of any slot holding the same
    /// prefix fit).
    /// </summary>
    public void ReuseLatePrefixes()
    {
        foreach (var r in Running)
        {
            if (!r.Prefilling) continue;
            var lead = r.Branches[0].Slot;
            int held = lead.Tokens.Count;
            var (source, m) = pool.Match(r.Request.Context, null);
            if (source is null || source == lead || m <= held) continue;
            cache.CopyRows(source.Index, lead.Index, held, m - held);
            lead.Tokens.AddRange(r.Request.Context.AsSpan(held, m - held));
            source.LastUse = pool.Touch();
            Reused += m - held;
            r.Reused += m - held;
        }
    }

    /// <summary>Progress when nothing runs and nothing fits (every slot pinned or held for a more important tree): the
    /// first request by priority goes in, evicting whatever it needs.</summary>
    public void Force()
    {
        wanted = null;
        var first = Prioritised()[0].Request;
        if (TryAdmit(first, _ => true)) Start(first);
        // With nothing running every cached slot is evictable, so a request that passed validation always fits;
        // this is a safeguard.
        else Fail(first, new InvalidOperationException("the request does not fit the engine's KV budget even with the cache empty"));
    }

    public void Release(IEnumerable<string> nodeIds)
    {
        foreach (string id in nodeIds)
            if (id is not null) pool.Release(id);
    }

    /// <summary>Takes the requests whose branches all finished out of the running batch; their callers get the
    /// results from <see cref="Complete"/>, once the engine's counters include them.</summary>
    public void Retire(IReadOnlyList<RequestState> finished)
    {
        foreach (var r in finished) Running.Remove(r);
        Completed += finished.Count;
    }

    /// <summary>Hands the results of a retired request to its caller.</summary>
    public void Complete(RequestState r, int policyVersion)
    {
        var req = r.Request;
        var branches = r.Branches.Select(b => new SegmentBranch(req.ChildNodeIds[b.Index], [.. b.Tokens], [.. b.LogProbs], b.Finish)).ToArray();
        priority.Touch(req.TreeId);
        r.Registration.Dispose();
        r.Completion.TrySetResult(new SegmentResult(branches, policyVersion, r.Prefilled, r.Decoded, r.Reused, r.Recomputed));
    }

    public void Fail(RequestState r, Exception e)
    {
        Abort(r);
        Failed++;
        publish();
        r.Registration.Dispose();
        r.Completion.TrySetException(e);
    }

    public void Cancel(RequestState r)
    {
        if (r.Completion.Task.IsCompleted) return;
        Abort(r);
        publish();
        r.Registration.Dispose();
        r.Completion.TrySetCanceled(r.Cancellation);
    }

    /// <summary>The weights changed: every cached node goes, and running requests go back to the head of the queue
    /// (in their arrival order) to start over, unless they asked for another version than <paramref name="version"/>.</summary>
    public void RestartAll(int version)
    {
        var restart = Running.ToList();
        foreach (var r in Running) foreach (var br in r.Branches) br.Slot.Writer = null;
        Running.Clear();
        pool.Clear();
        for (int i = restart.Count - 1; i >= 0; i--)
        {
            var r = restart[i];
            r.Reset();
            if (r.Request.PolicyVersion >= 0 && r.Request.PolicyVersion != version)
                Fail(r, new PolicyVersionMismatchException(r.Request.PolicyVersion, version));
            else
                Waiting.AddFirst(r);
        }
    }

    /// <summary>Fails every running and waiting request (a failed step, or the engine stopping).</summary>
    public void FailRunning(Exception e)
    {
        foreach (var r in Running.ToList()) Fail(r, e);
    }

    public void FailWaiting(Exception e)
    {
        foreach (var r in Waiting.ToList()) Fail(r, e);
        Waiting.Clear();
    }

    List<(RequestState Request, long Rank)> Prioritised() => Waiting
        .Select(r => (Request: r, Rank: priority.RankOf(r.Request.TreeId), Cached: r.Pin is { } p && pool.Find(p.Id) == p))
        .OrderBy(x => x.Rank).ThenBy(x => !x.Cached).ThenBy(x => x.Request.Arrival)
        .Select(x => (x.Request, x.Rank)).ToList();

    /// <summary>The priority of a cached slot: that of the most important tree among its nodes.</summary>
    long SlotRank(KvSlot s)
    {
        long rank = TreePriority.Idle;
        foreach (var n in s.Nodes) rank = Math.Min(rank, priority.RankOf(n.TreeId));
        return rank;
    }

    void Start(RequestState r)
    {
        Waiting.Remove(r);
        Running.Add(r);
    }

    /// <summary>The cached node <paramref name="req"/> continues: its parent id, holding a prefix of its context.</summary>
    KvNode? CachedParent(SegmentRequest req)
    {
        var parent = string.IsNullOrEmpty(req.ParentNodeId) ? null : pool.Find(req.ParentNodeId);
        // Same id, other tokens: not the node this context continues.
        return parent is not null && parent.Path.Length <= req.Context.Length && parent.Path.AsSpan().SequenceEqual(req.Context.AsSpan(0, parent.Path.Length))
            ? parent : null;
    }

    bool TryAdmit(RequestState r, Func<KvSlot, bool> evictable)
    {
        var req = r.Request;
        int b = req.Branches;
        int capacity = Capacity(req);
        var parent = CachedParent(req);
        var (source, m) = pool.Match(req.Context, parent?.Slot);

        for (int attempt = 0; attempt < 2; attempt++)
        {
            // Extend the source slot in place when nobody writes it and no node needs its rows past the match.
            bool takeover = source is not null && source.Writer is null && source.Nodes.All(x => x.Rows <= m);
            int newSlots = b - (takeover ? 1 : 0);
            long bytes = (long)b * capacity * pool.BytesPerToken - (takeover ? (long)source!.Tokens.Count * pool.BytesPerToken : 0);
            if (pool.MakeRoom(newSlots, bytes, source, evictable, SlotRank, Wanted))
            {
                Unpin(r);
                Place(r, source, m, takeover, capacity, parent);
                return true;
            }
            if (source is null) return false;
            (source, m) = (null, 0); // try again without reuse: the source itself may have to go
        }
        return false;
    }

    void Place(RequestState r, KvSlot? source, int m, bool takeover, int capacity, KvNode? parent)
    {
        var req = r.Request;
        int b = req.Branches;
        List<KvSlot> slots;
        int after = pool.LastSlotOf(req.TreeId);
        if (takeover)
        {
            pool.Truncate(source!, m);
            slots = [source!, .. pool.TakeFree(b - 1, Math.Max(after, source!.Index), exclude: source!.Index, spare: Wanted)];
        }
        else
        {
            slots = pool.TakeFree(b, after, spare: Wanted);
            if (source is not null && m > 0)
            {
                cache.CopyPrefix(source.Index, slots[0].Index, m);
                slots[0].Tokens.AddRange(req.Context.AsSpan(0, m));
            }
        }
        if (source is not null) source.LastUse = pool.Touch();
        r.MaxNew = MaxNew(req);
        r.Reused = slots[0].Tokens.Count;
        r.ParentNode = parent;
        r.Branches = new BranchState[b];
        for (int i = 0; i < b; i++)
        {
            var branch = new BranchState(i, slots[i], new SeededRandom(SeedMix.Derive(req.Seed, i)));
            slots[i].Writer = branch;
            slots[i].Reserved = capacity;
            slots[i].Tree = req.TreeId;
            r.Branches[i] = branch;
        }
        Reused += r.Reused;
    }

    /// <summary>Whether a waiting request would take its context's longest cached prefix from <paramref name="slot"/>:
    /// prompts admitted together after an evaluation each match another retained slot, and giving up one that another
    /// is about to reuse makes it compute those rows again. Room is made elsewhere first.</summary>
    bool Wanted(KvSlot slot)
    {
        if (wanted is null)
        {
            wanted = [];
            foreach (var r in Waiting.Take(WantedLookahead))
                if (pool.Match(r.Request.Context, null) is ({ } s, > 0)) wanted.Add(s);
        }
        return wanted.Contains(slot);
    }

    static void Unpin(RequestState r)
    {
        if (r.Pin is null) return;
        r.Pin.Pins--;
        r.Pin = null;
    }

    /// <summary>Frees the slots of a running request (its finished branches keep their nodes).</summary>
    void Abort(RequestState r)
    {
        foreach (var br in r.Branches)
        {
            if (br.Done || br.Slot.Writer != br) continue;
            br.Slot.Writer = null;
            pool.Trim(br.Slot);
        }
        Running.Remove(r);
        Waiting.Remove(r);
        Unpin(r);
    }
}
