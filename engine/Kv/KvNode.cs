namespace TreePO.Engine.Kv;

/// <summary>
/// An immutable token run the engine can continue: a prompt, or a finished segment. <see cref="Path"/> is the full
/// token path from the root; the first <see cref="Rows"/> of it have K/V in <see cref="Slot"/> (a segment's last
/// sampled token has none yet: the request that continues the node feeds it). <see cref="Parent"/> is the node it
/// continued, when the engine held it. <see cref="Pins"/> counts the waiting requests that continue it: a pinned node
/// is not evicted to make room for other work (its request would have to prefill it all again).
/// </summary>
internal sealed class KvNode(string id, string treeId, KvSlot slot, int[] path, int rows, KvNode? parent)
{
    public string Id { get; } = id;
    /// <summary>The tree that asked for it (scheduling priority).</summary>
    public string TreeId { get; } = treeId;
    public KvSlot Slot { get; } = slot;
    public int[] Path { get; } = path;
    public int Rows { get; } = rows;
    public KvNode? Parent { get; } = parent;
    public int Pins { get; set; }
}
