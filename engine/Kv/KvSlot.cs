namespace TreePO.Engine.Kv;

/// <summary>
/// Bookkeeping of one cache slot: the tokens whose K/V rows it holds (a single path from position 0), the sequence
/// writing to it if any, and the nodes it holds. Nodes in one slot form a chain (a node and the segments that
/// extended it in place); rows past the deepest node belong to the writer or are garbage.
/// </summary>
internal sealed class KvSlot(int index)
{
    public int Index { get; } = index;
    public List<int> Tokens { get; } = [];
    public List<KvNode> Nodes { get; } = [];
    /// <summary>The sequence that owns and appends to this slot, or null when the slot only caches nodes.</summary>
    public object? Writer { get; set; }
    /// <summary>Rows the writer may grow to (budget reservation).</summary>
    public int Reserved { get; set; }
    public long LastUse { get; set; }
    /// <summary>The tree whose work last took this slot: where that tree's next branches go (see
    /// <see cref="KvPool.TakeFree"/>).</summary>
    public string? Tree { get; set; }

    /// <summary>Nobody writes it and it holds no node: it can be given to new work (any rows it still holds are
    /// retained K/V that new work may reuse, or drop).</summary>
    public bool IsFree => Writer is null && Nodes.Count == 0;
    /// <summary>Free, but still holding the rows of released nodes: kept until the room is needed, so that a request
    /// continuing the same tokens (a fallback from a finished path, a prompt asked again) reuses them.</summary>
    public bool IsRetained => IsFree && Tokens.Count > 0;
    public int AccountedRows => Writer is null ? Tokens.Count : Math.Max(Tokens.Count, Reserved);
    public int DeepestNodeRows => Nodes.Count == 0 ? 0 : Nodes.Max(n => n.Rows);
    /// <summary>A waiting request continues one of its nodes.</summary>
    public bool Pinned => Nodes.Exists(n => n.Pins > 0);

    public void Truncate(int rows)
    {
        if (rows < Tokens.Count) Tokens.RemoveRange(rows, Tokens.Count - rows);
    }
}
