namespace TreePO.Engine.Kv;

/// <summary>
/// Which slot holds what: slots, named nodes, LRU order and the KV budget (rows in use or reserved, times the bytes of
/// one token's K/V). Eviction drops whole slots that no sequence writes to, in an order the engine's scheduler gives
/// (tree priority, then pins of waiting requests, then least recently used). Model-thread only.
/// </summary>
internal sealed class KvPool
{
    readonly KvSlot[] slots;
    readonly Dictionary<string, KvNode> nodes = new(StringComparer.Ordinal);
    long clock;

    public KvPool(int slotCount, long budgetBytes, long bytesPerToken)
    {
        slots = Enumerable.Range(0, slotCount).Select(i => new KvSlot(i)).ToArray();
        BudgetBytes = budgetBytes;
        BytesPerToken = bytesPerToken;
    }

    public long BudgetBytes { get; }
    public long BytesPerToken { get; }
    public long Evictions { get; private set; }
    public IReadOnlyList<KvSlot> Slots => slots;
    public int NodeCount => nodes.Count;
    public long UsedBytes => slots.Sum(s => (long)s.AccountedRows) * BytesPerToken;
    public int FreeSlots => slots.Count(s => s.IsFree);
    public int LiveSlots => slots.Length - FreeSlots;

    public long Touch() => ++clock;

    public KvNode? Find(string id) => nodes.GetValueOrDefault(id);

    /// <summary>The slot sharing the longest prefix with <paramref name="context"/>, capped at <c>context.Length - 1</c>
    /// (the last context token is always fed, for its logits). Ties prefer <paramref name="preferred"/>.</summary>
    public (KvSlot? Slot, int Length) Match(int[] context, KvSlot? preferred)
    {
        int cap = context.Length - 1;
        KvSlot? best = null;
        int bestLength = 0;
        foreach (var slot in slots)
        {
            if (slot.Tokens.Count == 0) continue;
            int limit = Math.Min(cap, slot.Tokens.Count);
            int n = 0;
            var tokens = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(slot.Tokens);
            n = tokens[..limit].CommonPrefixLength(context.AsSpan(0, limit));
            if (n > bestLength || (n == bestLength && n > 0 && slot == preferred))
            {
                best = slot;
                bestLength = n;
            }
        }
        return (best, bestLength);
    }

    /// <summary>Free slots in ascending order, preferring a block of <paramref name="count"/> consecutive ones that
    /// starts at <paramref name="after"/> + 1 (consecutive slots at equal lengths attend in one batched call).</summary>
    public List<KvSlot> TakeFree(int count, int after = -1)
    {
        if (count == 0) return [];
        bool Block(int start) => start >= 0 && start + count <= slots.Length && Enumerable.Range(start, count).All(i => slots[i].IsFree);
        int begin = Block(after + 1) ? after + 1 : Enumerable.Range(0, slots.Length).FirstOrDefault(Block, -1);
        if (begin >= 0) return Enumerable.Range(begin, count).Select(i => slots[i]).ToList();
        var free = slots.Where(s => s.IsFree).Take(count).ToList();
        if (free.Count < count) throw new InvalidOperationException($"asked for {count} free slots, {free.Count} free");
        return free;
    }

    /// <summary>Evicts slots that nobody writes (never <paramref name="keep"/>) and that <paramref name="evictable"/>
    /// allows until <paramref name="slotsNeeded"/> slots are free and <paramref name="bytesNeeded"/> more bytes fit;
    /// false if impossible (nothing is evicted then). The victims go in order: the highest <paramref name="rank"/> (the
    /// least important tree) first, then unpinned before pinned, then least recently used.</summary>
    public bool MakeRoom(int slotsNeeded, long bytesNeeded, KvSlot? keep, Func<KvSlot, bool> evictable, Func<KvSlot, long> rank)
    {
        int free = FreeSlots;
        long used = UsedBytes;
        if (free >= slotsNeeded && used + bytesNeeded <= BudgetBytes) return true;
        var candidates = slots.Where(s => s.Writer is null && !s.IsFree && s != keep && evictable(s))
            .OrderByDescending(rank).ThenBy(s => s.Pinned).ThenBy(s => s.LastUse).ToList();
        int take = 0;
        while ((free < slotsNeeded || used + bytesNeeded > BudgetBytes) && take < candidates.Count)
        {
            free++;
            used -= candidates[take].AccountedRows * BytesPerToken;
            take++;
        }
        if (free < slotsNeeded || used + bytesNeeded > BudgetBytes) return false;
        for (int i = 0; i < take; i++) Evict(candidates[i]);
        return true;
    }

    public void Evict(KvSlot slot)
    {
        foreach (var n in slot.Nodes) nodes.Remove(n.Id);
        slot.Nodes.Clear();
        slot.Tokens.Clear();
        Evictions++;
    }

    /// <summary>Registers a node (replacing an older node of the same id).</summary>
    public KvNode AddNode(string id, string treeId, KvSlot slot, int[] path, int rows, KvNode? parent)
    {
        if (nodes.TryGetValue(id, out var old)) Remove(old);
        var node = new KvNode(id, treeId, slot, path, rows, parent);
        nodes[id] = node;
        slot.Nodes.Add(node);
        slot.LastUse = Touch();
        return node;
    }

    public bool Release(string id)
    {
        if (!nodes.TryGetValue(id, out var node)) return false;
        Remove(node);
        return true;
    }

    void Remove(KvNode node)
    {
        nodes.Remove(node.Id);
        node.Slot.Nodes.Remove(node);
        Trim(node.Slot);
    }

    /// <summary>After a writer leaves or a node goes: keep only the rows some node still needs.</summary>
    public void Trim(KvSlot slot)
    {
        if (slot.Writer is not null) return;
        slot.Reserved = 0;
        slot.Truncate(slot.DeepestNodeRows);
    }

    /// <summary>Drops every node and every cached row (the weights changed). Writers must be gone already.</summary>
    public void Clear()
    {
        nodes.Clear();
        foreach (var s in slots)
        {
            s.Nodes.Clear();
            s.Tokens.Clear();
            s.Writer = null;
            s.Reserved = 0;
        }
    }
}
