using TreePO.Engine.Model;
using static TorchSharp.torch;

namespace TreePO.Engine.Checkpoint;

/// <summary>
/// The engine's staging area for a weight update: one buffer per parameter (pieces of at most 1 GB), in the sent
/// dtype, checked against the model's keys and shapes when opened. Arriving bytes are copied straight into the
/// buffers; the swap then copies each buffer into the existing parameter in place, so the live weights change only
/// once everything arrived, and never a second model is built. Open and swap on the model's thread.
/// </summary>
public sealed class StagedWeights : WeightSink
{
    sealed record Piece(string Name, long ElementOffset, Tensor Data, long FileBegin, long Length);

    readonly Piece[] pieces;   // by FileBegin
    readonly long[] begins;

    StagedWeights(int version, ReadOnlySpan<byte> header, long totalBytes, Piece[] pieces) : base(version, header, totalBytes)
    {
        this.pieces = pieces;
        begins = pieces.Select(p => p.FileBegin).ToArray();
    }

    /// <summary>Checks the header against <paramref name="model"/> and allocates the buffers.</summary>
    public static StagedWeights Open(Qwen2Model model, int version, ReadOnlySpan<byte> header, long totalBytes)
    {
        string source = $"weights of version {version}";
        if (header.Length < 8 || (ulong)header.Length != System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(header) + 8)
            throw new InvalidDataException($"{source}: the header's length field does not match its {header.Length} bytes");
        var entries = SafetensorsHeader.Read(new MemoryStream(header.ToArray(), writable: false), source, headerOnly: true);
        long dataStart = header.Length;
        long end = entries.Values.Select(e => e.End).DefaultIfEmpty(0).Max();
        if (dataStart + end != totalBytes)
            throw new InvalidDataException($"{source}: the header describes {dataStart + end} bytes, {totalBytes} announced");
        var skip = Qwen2Checkpoint.Check(model, entries.Values.Select(e => (source, e)).ToList(), indexed: null).ToHashSet();
        var pieces = new List<Piece>();
        try
        {
            foreach (var e in entries.Values.Where(e => !skip.Contains(e.Name)).OrderBy(e => e.Begin))
            {
                var dtype = DType(e.DType);
                int size = SafetensorsHeader.ElementSize(e.DType);
                long elements = (e.End - e.Begin) / size, step = TensorBytes.MaxSpanBytes / size;
                for (long s = 0; s < elements; s += step)
                {
                    long n = Math.Min(step, elements - s);
                    var data = TensorBytes.NewBuffer(n, dtype).DetachFromDisposeScope();
                    pieces.Add(new Piece(e.Name, s, data, dataStart + e.Begin + s * size, n * size));
                }
            }
            return new StagedWeights(version, header, totalBytes, [.. pieces]);
        }
        catch
        {
            foreach (var p in pieces) p.Data.Dispose();
            throw;
        }
    }

    static ScalarType DType(string d) => d switch
    {
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "F64" => ScalarType.Float64,
        _ => throw new InvalidDataException($"unsupported dtype {d}"),
    };

    protected override void Place(long offset, ReadOnlySpan<byte> bytes)
    {
        // The first piece that ends after offset; bytes of skipped keys (a tied lm_head) fall between pieces.
        int i = Array.BinarySearch(begins, offset);
        if (i < 0) i = Math.Max(0, ~i - 1);
        for (; i < pieces.Length && bytes.Length > 0; i++)
        {
            var p = pieces[i];
            if (p.FileBegin + p.Length <= offset) continue;
            if (p.FileBegin > offset)
            {
                long gap = Math.Min(bytes.Length, p.FileBegin - offset);
                bytes = bytes[(int)gap..];
                offset += gap;
                if (bytes.Length == 0) break;
            }
            int within = (int)(offset - p.FileBegin), n = (int)Math.Min(bytes.Length, p.Length - within);
            bytes[..n].CopyTo(TensorBytes.Writable(p.Data)[within..]);
            bytes = bytes[n..];
            offset += n;
        }
    }

    protected override Span<byte> Region(long offset, int maxLength)
    {
        int i = Array.BinarySearch(begins, offset);
        if (i < 0) i = ~i - 1;
        if (i < 0) return default;
        var p = pieces[i];
        if (offset >= p.FileBegin + p.Length) return default;   // between pieces: a skipped key's bytes
        int within = (int)(offset - p.FileBegin);
        return TensorBytes.Writable(p.Data).Slice(within, (int)Math.Min(maxLength, p.Length - within));
    }

    /// <summary>Copies every buffer into <paramref name="model"/>'s parameters in place (fails unless complete).</summary>
    public void CopyInto(Qwen2Model model)
    {
        EnsureComplete();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var targets = model.state_dict();
        foreach (var p in pieces)
        {
            var target = targets[p.Name];
            if (p.ElementOffset == 0 && p.Data.NumberOfElements == target.NumberOfElements)
                target.copy_(p.Data.view(target.shape));
            else
                target.view(-1).narrow(0, p.ElementOffset, p.Data.NumberOfElements).copy_(p.Data);
        }
        model.WeightsChanged();
    }

    public override void Dispose()
    {
        foreach (var p in pieces) p.Data.Dispose();
    }
}
