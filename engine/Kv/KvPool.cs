namespace TreePO.Engine.Kv;

/// <summary>
/// Which slot holds what: slots, named nodes, LRU order and the KV budget (rows in use or reserved, times the bytes of
/// one token's K/V). Eviction drops whole slots that no sequence writes to, in an order the engine's scheduler gives
/// (tree priority, then pins of waiting requests, then the prefixes waiting requests would reuse, then least recently
/// used). A slot whose nodes are all released keeps its rows (retained, as vLLM and SGLang keep freed blocks) until
/// new work takes the slot or needs the room; retained rows count against the budget and go first. Model-thread only.
/// </summary>
internal sealed class KvPool
{
    readonly KvSlot[] slots;
    readonly Dictionary<string, KvNode> nodes = new(StringComparer.Ordinal);
    long clock;

    public KvPool(int slotCount, long budgetBytes, long bytesPerToken, PrefixLedger ledger)
    {
        slots = Enumerable.Range(0, slotCount).Select(i => new KvSlot(i)).ToArray();
        BudgetBytes = budgetBytes;
        BytesPerToken = bytesPerToken;
        Ledger = ledger;
    }

    /// <summary>What was computed under the current weights and how it was lost.</summary>
    public PrefixLedger Ledger { get; }

    public long BudgetBytes { get; }
    public long BytesPerToken { get; }
    public long Evictions { get; private set; }
    public IReadOnlyList<KvSlot> Slots => slots;
    public int NodeCount => nodes.Count;
    /// <summary>Rows in use or reserved (running sequences and cached nodes), in bytes.</summary>
    public long UsedBytes => slots.Where(s => !s.IsRetained).Sum(s => (long)s.AccountedRows) * BytesPerToken;
    /// <summary>Rows of released nodes still held, in bytes: given up first when room is needed.</summary>
    public long RetainedBytes => slots.Where(s => s.IsRetained).Sum(s => (long)s.Tokens.Count) * BytesPerToken;
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

    /// <summary>
    /// Free slots, emptied, in ascending order: a block of <paramref name="count"/> consecutive empty slots when one
    /// exists (never <paramref name="exclude"/>), else empty slots over retained ones (those <paramref name="spare"/>
    /// names last, then the least recently used rows first). The block is laid out so that a tree's paths at one depth
    /// stay side by side, since consecutive slots at equal lengths attend in one batched call: the first block after
    /// <paramref name="after"/> (the tree's last slot) when the tree holds slots, else the middle of the widest run of
    /// empty slots, leaving room on both sides for the trees there to grow.
    /// </summary>
    public List<KvSlot> TakeFree(int count, int after = -1, int exclude = -1, Func<KvSlot, bool>? spare = null)
    {
        if (count == 0) return [];
        spare ??= _ => false;
        bool Empty(int i) => slots[i].IsFree && !slots[i].IsRetained && i != exclude;
        bool Block(int start) => start >= 0 && start + count <= slots.Length && Enumerable.Range(start, count).All(Empty);
        int begin = after >= 0
            ? Enumerable.Range(after + 1, Math.Max(0, slots.Length - after - 1)).Concat(Enumerable.Range(0, Math.Min(after + 1, slots.Length))).FirstOrDefault(Block, -1)
            : WidestGapStart(count, Empty);
        var taken = begin >= 0
            ? Enumerable.Range(begin, count).Select(i => slots[i]).ToList()
            : slots.Where(s => Empty(s.Index))
                .Concat(slots.Where(s => s.IsRetained && s.Index != exclude).OrderBy(spare).ThenBy(s => s.LastUse))
                .Take(count).ToList();
        if (taken.Count < count) throw new InvalidOperationException($"asked for {count} free slots, {taken.Count} free");
        foreach (var s in taken) Drop(s);
        return taken;
    }

    /// <summary>The last slot of <paramref name="tree"/> that holds anything (-1: none).</summary>
    public int LastSlotOf(string tree)
    {
        for (int i = slots.Length - 1; i >= 0; i--)
            if (slots[i].Tree == tree && (!slots[i].IsFree || slots[i].Tokens.Count > 0)) return i;
        return -1;
    }

    /// <summary>Where a new tree's <paramref name="count"/> slots go: the start of the widest run of empty slots when
    /// nothing precedes it, else its middle (-1: no run is long enough).</summary>
    int WidestGapStart(int count, Func<int, bool> empty)
    {
        int bestStart = -1, bestLength = 0;
        for (int i = 0; i < slots.Length;)
        {
            if (!empty(i)) { i++; continue; }
            int j = i;
            while (j < slots.Length && empty(j)) j++;
            if (j - i > bestLength) (bestStart, bestLength) = (i, j - i);
            i = j;
        }
        if (bestLength < count) return -1;
        return bestStart == 0 ? 0 : bestStart + (bestLength - count) / 2;
    }

    /// <summary>Gives up the retained rows of a free slot.</summary>
    void Drop(KvSlot slot)
    {
        if (!slot.IsRetained) return;
        Ledger.Lose(slot.Tokens, 0, KvLoss.Released);
        slot.Tokens.Clear();
    }

    /// <summary>Cuts a slot that new work extends in place back to the <paramref name="rows"/> it shares.</summary>
    public void Truncate(KvSlot slot, int rows)
    {
        Ledger.Lose(slot.Tokens, rows, KvLoss.Released);
        slot.Truncate(rows);
    }

    /// <summary>Evicts slots that nobody writes (never <paramref name="keep"/>) and that <paramref name="evictable"/>
    /// allows until <paramref name="slotsNeeded"/> slots are free and <paramref name="bytesNeeded"/> more bytes fit;
    /// false if impossible (nothing is evicted then). The victims go in order: the highest <paramref name="rank"/> (the
    /// least important tree) first, then unpinned before pinned, then those <paramref name="spare"/> does not name, then
    /// least recently used; retained rows likewise by <paramref name="spare"/>, then least recently used.</summary>
    public bool MakeRoom(int slotsNeeded, long bytesNeeded, KvSlot? keep, Func<KvSlot, bool> evictable, Func<KvSlot, long> rank,
        Func<KvSlot, bool>? spare = null)
    {
        // A free (retained) slot that new work extends in place is not free for the rest of that work.
        int free = FreeSlots - (keep is { IsFree: true } ? 1 : 0);
        long used = UsedBytes + RetainedBytes;
        if (free >= slotsNeeded && used + bytesNeeded <= BudgetBytes) return true;
        // Retained rows first (least recently used first): giving them up frees bytes, not slots (they are free).
        spare ??= _ => false;
        var retained = slots.Where(s => s.IsRetained && s != keep).OrderBy(spare).ThenBy(s => s.LastUse).ToList();
        var candidates = slots.Where(s => s.Writer is null && !s.IsFree && s != keep && evictable(s))
            .OrderByDescending(rank).ThenBy(s => s.Pinned).ThenBy(spare).ThenBy(s => s.LastUse).ToList();
        int dropped = 0, take = 0;
        while (used + bytesNeeded > BudgetBytes && dropped < retained.Count)
            used -= retained[dropped++].Tokens.Count * BytesPerToken;
        while ((free < slotsNeeded || used + bytesNeeded > BudgetBytes) && take < candidates.Count)
        {
            free++;
            used -= candidates[take].AccountedRows * BytesPerToken;
            take++;
        }
        if (free < slotsNeeded || used + bytesNeeded > BudgetBytes) return false;
        for (int i = 0; i < dropped; i++) Drop(retained[i]);
        for (int i = 0; i < take; i++) Evict(candidates[i]);
        return true;
    }

    public void Evict(KvSlot slot)
    {
        Ledger.Lose(slot.Tokens, 0, KvLoss.Evicted);
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

    /// <summary>After a writer leaves or a node goes: a slot with nodes keeps only the rows they need; one without keeps
    /// its rows, retained until the room is needed.</summary>
    public void Trim(KvSlot slot)
    {
        if (slot.Writer is not null) return;
        slot.Reserved = 0;
        if (slot.Nodes.Count == 0)
        {
            slot.LastUse = Touch();
            return;
        }
        Truncate(slot, slot.DeepestNodeRows);
    }

    /// <summary>Drops every node and every cached row (the weights changed). Writers must be gone already.</summary>
    public void Clear()
    {
        Ledger.Clear();
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
