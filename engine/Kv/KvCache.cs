using TreePO.Engine.Model;
using static TorchSharp.torch;

namespace TreePO.Engine.Kv;

/// <summary>
/// Slot-major K/V storage: per layer <c>[slots, kv_heads, max_len, head_dim]</c> fp32, allocated once and written in
/// place. Each live sequence owns a slot; a fork copies the parent's prefix rows into the child's slot. The buffers are
/// allocated uninitialised: only rows a sequence has written are ever read (attention narrows to exact lengths), so
/// the operating system commits memory only for rows in use.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor[] keys;
    readonly Tensor[] values;
    readonly Tensor[] flatKeys;
    readonly Tensor[] flatValues;

    public int Slots { get; }
    public int MaxLength { get; }
    public int KvHeads { get; }
    public int HeadDim { get; }
    public int Layers => keys.Length;
    public long BytesPerToken { get; }
    /// <summary>Prefix copies made so far (forks, and reuse of a prefix another slot holds).</summary>
    public long Copies { get; private set; }

    public KvCache(Qwen2Config config, int slots, int maxLength, Device? device = null)
    {
        if (slots <= 0) throw new ArgumentOutOfRangeException(nameof(slots), slots, "must be positive");
        if (maxLength <= 0) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "must be positive");
        Slots = slots;
        MaxLength = maxLength;
        KvHeads = config.NumKeyValueHeads;
        HeadDim = config.HeadDim;
        BytesPerToken = config.KvBytesPerToken;
        int layers = config.NumHiddenLayers;
        keys = new Tensor[layers];
        values = new Tensor[layers];
        flatKeys = new Tensor[layers];
        flatValues = new Tensor[layers];
        for (int l = 0; l < layers; l++)
        {
            keys[l] = empty([slots, KvHeads, maxLength, HeadDim], ScalarType.Float32, device).DetachFromDisposeScope();
            values[l] = empty([slots, KvHeads, maxLength, HeadDim], ScalarType.Float32, device).DetachFromDisposeScope();
            flatKeys[l] = keys[l].view(-1, HeadDim).DetachFromDisposeScope();
            flatValues[l] = values[l].view(-1, HeadDim).DetachFromDisposeScope();
        }
    }

    public Tensor Keys(int layer) => keys[layer];
    public Tensor Values(int layer) => values[layer];
    internal Tensor FlatKeys(int layer) => flatKeys[layer];
    internal Tensor FlatValues(int layer) => flatValues[layer];

    /// <summary>Copies rows <c>[0, length)</c> of <paramref name="source"/> into <paramref name="target"/> in every layer.</summary>
    public void CopyPrefix(int source, int target, int length) => CopyRows(source, target, 0, length);

    /// <summary>Copies rows <c>[start, start + count)</c> of every layer from slot <paramref name="source"/> to slot
    /// <paramref name="target"/>.</summary>
    public void CopyRows(int source, int target, int start, int count)
    {
        if (source == target || count == 0) return;
        if (start < 0 || count < 0 || start + count > MaxLength)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"rows [{start}, {start + count}) must lie in [0, {MaxLength}]");
        Copies++;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (int l = 0; l < keys.Length; l++)
        {
            keys[l][target].narrow(1, start, count).copy_(keys[l][source].narrow(1, start, count));
            values[l][target].narrow(1, start, count).copy_(values[l][source].narrow(1, start, count));
        }
    }

    public void Dispose()
    {
        foreach (var t in flatKeys.Concat(flatValues).Concat(keys).Concat(values)) t.Dispose();
    }
}
