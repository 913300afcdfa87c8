using TreePO.Engine.Model;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Kv;

/// <summary>
/// Slot-major K/V storage: per layer <c>[slots, kv_heads, max_len, head_dim]</c> in the model's dtype (fp32 or bf16),
/// allocated once and written in place. Each live sequence owns a slot; a fork copies the parent's prefix rows into the
/// child's slot. Rows never written must hold finite numbers: a masked attention call over neighbouring slots of
/// different lengths reads rows past the shorter sequences' ends and masks them out, but a masked row weighs 0 and
/// 0 x NaN is NaN (uninitialised memory made a batched step differ from the same steps alone, now and then). So a
/// cache is either <em>committed</em>, written with zeros at allocation (its memory is then in place before the first
/// step, instead of each page faulting inside one: for a fresh engine of the built-in model that cost a fifth of a
/// rollout), or <em>lazy</em>, allocated uninitialised and each slot's rows zeroed as the slot first reaches them
/// (<see cref="Reach"/> before rows are read or written, <see cref="Wrote"/> once they are), so that memory is committed only as rows are used: on a CPU, an engine
/// with more slots than its KV budget holds at full length (many short sequences) costs only the rows it fills.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor[] keys;
    readonly Tensor[] values;
    readonly Tensor[] flatKeys;
    readonly Tensor[] flatValues;
    readonly List<(int Source, int Target, int Start, int Count)> pending = [];
    int pendingRows;
    /// <summary>Lazy caches: rows <c>[0, finite[s])</c> of slot s have been written or zeroed. Null when committed.</summary>
    readonly int[]? finite;

    public int Slots { get; }
    public int MaxLength { get; }
    public int KvHeads { get; }
    public int HeadDim { get; }
    public int Layers => keys.Length;
    /// <summary>The element type of every buffer: the model's, whose K/V rows are copied in as they are.</summary>
    public ScalarType DType { get; }
    public long BytesPerToken { get; }
    /// <summary>Whether every row was written with zeros at allocation (else rows are zeroed as slots reach them).</summary>
    public bool Committed { get; }
    /// <summary>Prefix copies made so far (forks, and reuse of a prefix another slot holds).</summary>
    public long Copies { get; private set; }

    /// <param name="committed">True: zeros in every row at allocation. False: uninitialised, rows zeroed as slots reach them.</param>
    public KvCache(Qwen2Config config, int slots, int maxLength, Device? device = null, ScalarType dtype = ScalarType.Float32,
        bool committed = true)
    {
        if (slots <= 0) throw new ArgumentOutOfRangeException(nameof(slots), slots, "must be positive");
        if (maxLength <= 0) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "must be positive");
        Slots = slots;
        MaxLength = maxLength;
        KvHeads = config.NumKeyValueHeads;
        HeadDim = config.HeadDim;
        DType = dtype;
        BytesPerToken = config.KvBytesPerToken(dtype);
        int layers = config.NumHiddenLayers;
        keys = new Tensor[layers];
        values = new Tensor[layers];
        flatKeys = new Tensor[layers];
        flatValues = new Tensor[layers];
        Committed = committed;
        if (!committed) finite = new int[slots];
        Tensor Buffer() => (committed ? zeros([slots, KvHeads, maxLength, HeadDim], dtype, device)
            : empty([slots, KvHeads, maxLength, HeadDim], dtype, device)).DetachFromDisposeScope();
        for (int l = 0; l < layers; l++)
        {
            keys[l] = Buffer();
            values[l] = Buffer();
            flatKeys[l] = keys[l].view(-1, HeadDim).DetachFromDisposeScope();
            flatValues[l] = values[l].view(-1, HeadDim).DetachFromDisposeScope();
        }
    }

    // Every read or write of the buffers goes through these, so copies still pending land first.
    public Tensor Keys(int layer) { Flush(); return keys[layer]; }
    public Tensor Values(int layer) { Flush(); return values[layer]; }
    internal Tensor FlatKeys(int layer) { Flush(); return flatKeys[layer]; }
    internal Tensor FlatValues(int layer) { Flush(); return flatValues[layer]; }

    /// <summary>Rows <c>[0, length)</c> of <paramref name="slot"/> are about to be read (an attention call that masks the
    /// ones past a sequence's end) or written from <paramref name="length"/> on: in a lazy cache, rows the slot has not
    /// reached yet are zeroed, so that its finite rows stay one run from 0.</summary>
    public void Reach(int slot, int length)
    {
        if (finite is null || length <= finite[slot]) return;
        Flush();   // a pending copy into the slot may reach further, and must land before rows are zeroed
        if (length <= finite[slot]) return;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int from = finite[slot];
        for (int l = 0; l < keys.Length; l++)
        {
            keys[l].narrow(0, slot, 1).narrow(2, from, length - from).zero_();
            values[l].narrow(0, slot, 1).narrow(2, from, length - from).zero_();
        }
        finite[slot] = length;
    }

    /// <summary>Rows of <paramref name="slot"/> up to <paramref name="end"/> have been written (after a
    /// <see cref="Reach"/> to where the writing began). Marked only once the write has happened, so that rows of a step
    /// that failed are never taken for written ones.</summary>
    internal void Wrote(int slot, int end)
    {
        if (finite is not null && end > finite[slot]) finite[slot] = end;
    }

    /// <summary>Copies rows <c>[0, length)</c> of <paramref name="source"/> into <paramref name="target"/> in every layer.</summary>
    public void CopyPrefix(int source, int target, int length) => CopyRows(source, target, 0, length);

    /// <summary>Copies rows <c>[start, start + count)</c> of every layer from slot <paramref name="source"/> to slot
    /// <paramref name="target"/>. The copy is queued and made with the others of the same step in one gather and one
    /// scatter per layer (a fork's copy made alone costs a few dozen small ops, which at the built-in model's size cost
    /// as much as the step's attention); it lands before anything reads or writes the buffers.</summary>
    public void CopyRows(int source, int target, int start, int count)
    {
        if (source == target || count == 0) return;
        if (start < 0 || count < 0 || start + count > MaxLength)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"rows [{start}, {start + count}) must lie in [0, {MaxLength}]");
        if (source < 0 || source >= Slots || target < 0 || target >= Slots)
            throw new ArgumentOutOfRangeException(nameof(target), target, $"slots {source} -> {target} must lie in [0, {Slots})");
        // A copy that reads rows a pending one writes, or writes rows a pending one reads or writes, waits for it.
        foreach (var p in pending)
            if (p.Target == source || p.Target == target || p.Source == target)
            {
                Flush();
                break;
            }
        Reach(target, start);
        pending.Add((source, target, start, count));
        pendingRows += count;
        Copies++;
    }

    /// <summary>Makes the queued copies: on a CPU as row-range copies in host memory, elsewhere the rows of every queued
    /// copy gathered and scattered at once, per layer.</summary>
    public void Flush()
    {
        if (pending.Count == 0) return;
        var landed = pending.Select(p => (p.Target, End: p.Start + p.Count)).ToArray();
        if (HostCopies && keys[0].device_type == TorchSharp.DeviceType.CPU) CopyOnHost();
        else CopyWithLibtorch();
        pending.Clear();
        pendingRows = 0;
        foreach (var (target, end) in landed) Wrote(target, end);
    }

    void CopyWithLibtorch()
    {
        var from = new long[pendingRows * KvHeads];
        var to = new long[from.Length];
        int k = 0;
        foreach (var (source, target, start, count) in pending)
            for (int h = 0; h < KvHeads; h++)
                for (int i = start; i < start + count; i++, k++)
                {
                    from[k] = ((long)source * KvHeads + h) * MaxLength + i;
                    to[k] = ((long)target * KvHeads + h) * MaxLength + i;
                }
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var device = keys[0].device;
        var fromRows = tensor(from, device: device);
        var toRows = tensor(to, device: device);
        for (int l = 0; l < keys.Length; l++)
        {
            flatKeys[l].index_copy_(0, toRows, flatKeys[l].index_select(0, fromRows));
            flatValues[l].index_copy_(0, toRows, flatValues[l].index_select(0, fromRows));
        }
    }

    /// <summary>Whether a CPU cache makes its queued copies as row-range copies in host memory (each copy's rows of one KV
    /// head are contiguous: one memory copy per layer, head and copy) instead of a gather and a scatter per layer; false:
    /// libtorch's ops always, as on a GPU.</summary>
    internal bool HostCopies { get; set; } = true;

    // In queue order, which is the order they were asked for: CopyRows flushes before a copy that depends on a queued one,
    // so no copy of one flush reads rows another writes.
    unsafe void CopyOnHost()
    {
        long rowBytes = (long)HeadDim * keys[0].element_size();
        for (int l = 0; l < keys.Length; l++)
            foreach (var buffer in new[] { keys[l], values[l] })
            {
                byte* data = HostMemory.Bytes(buffer);
                foreach (var (source, target, start, count) in pending)
                    for (int h = 0; h < KvHeads; h++)
                    {
                        long from = (((long)source * KvHeads + h) * MaxLength + start) * rowBytes;
                        long to = (((long)target * KvHeads + h) * MaxLength + start) * rowBytes;
                        Buffer.MemoryCopy(data + from, data + to, count * rowBytes, count * rowBytes);
                    }
                GC.KeepAlive(buffer);
            }
    }

    public void Dispose()
    {
        pending.Clear();
        foreach (var t in flatKeys.Concat(flatValues).Concat(keys).Concat(values)) t.Dispose();
    }
}
