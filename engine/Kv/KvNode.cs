namespace TreePO.Engine.Kv;

/// <summary>
/// An immutable token run the engine can continue: a prompt, or a finished segment. <see cref="Path"/> is the full
/// token path from the root; the first <see cref="Rows"/> of it have K/V in <see cref="Slot"/> (a segment's last
/// sampled token has none yet: the request that continues the node feeds it). <see cref="Parent"/> is the node it
/// continued, when the engine held it.
/// </summary>
internal sealed class KvNode(string id, KvSlot slot, int[] path, int rows, KvNode? parent)
{
    public string Id { get; } = id;
    public KvSlot Slot { get; } = slot;
    public int[] Path { get; } = path;
    public int Rows { get; } = rows;
    public KvNode? Parent { get; } = parent;
}
