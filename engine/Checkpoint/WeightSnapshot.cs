using System.Diagnostics;
using static TorchSharp.torch;

namespace TreePO.Engine.Checkpoint;

/// <summary>
/// One published weight version as a safetensors file (fp32, <see cref="SafetensorsWriter"/>'s layout) held in
/// fixed-size chunks: built once per version and served to every engine without further copies. Each tensor's bytes
/// go straight from its storage into the chunks (no full-model array); a tensor may span several chunks.
/// Immutable once built: callers must not write into the arrays <see cref="Chunk"/> returns.
/// </summary>
public sealed class WeightSnapshot
{
    public const int DefaultChunkBytes = 16 << 20;

    readonly byte[][] chunks;

    WeightSnapshot(int version, byte[] header, byte[][] chunks, long totalBytes, int chunkBytes, double captureSeconds)
    {
        Version = version;
        Header = header;
        this.chunks = chunks;
        TotalBytes = totalBytes;
        ChunkBytes = chunkBytes;
        CaptureSeconds = captureSeconds;
    }

    public int Version { get; }
    /// <summary>The file's first bytes (length and JSON header); the data starts right after them.</summary>
    public byte[] Header { get; }
    public long TotalBytes { get; }
    public int ChunkBytes { get; }
    public int ChunkCount => chunks.Length;
    /// <summary>How long writing the tensors into the chunks took (the trainer's tensor-to-bytes phase).</summary>
    public double CaptureSeconds { get; }

    /// <summary>Chunk <paramref name="index"/>: the file's bytes from <c>index * ChunkBytes</c> (the last one shorter).</summary>
    public byte[] Chunk(int index) => index >= 0 && index < chunks.Length
        ? chunks[index]
        : throw new ArgumentOutOfRangeException(nameof(index), $"chunk {index} of a snapshot with {chunks.Length} chunks");

    /// <summary>Copies the file's bytes from <paramref name="offset"/> into <paramref name="destination"/>.</summary>
    public void CopyTo(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset + destination.Length > TotalBytes)
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes [{offset}, {offset + destination.Length}) outside the snapshot's {TotalBytes}");
        while (destination.Length > 0)
        {
            int index = (int)(offset / ChunkBytes), within = (int)(offset % ChunkBytes);
            int n = Math.Min(destination.Length, chunks[index].Length - within);
            chunks[index].AsSpan(within, n).CopyTo(destination);
            destination = destination[n..];
            offset += n;
        }
    }

    /// <summary>The whole file as one array (tests and small models only).</summary>
    public byte[] ToArray()
    {
        var all = new byte[TotalBytes];
        CopyTo(0, all);
        return all;
    }

    /// <summary>Writes <paramref name="tensors"/> (a state dict, in order) as version <paramref name="version"/>.
    /// Call on the model's thread.</summary>
    public static WeightSnapshot Capture(int version, IEnumerable<KeyValuePair<string, Tensor>> tensors, int chunkBytes = DefaultChunkBytes)
    {
        if (chunkBytes < 1) throw new ArgumentOutOfRangeException(nameof(chunkBytes), $"must be positive, got {chunkBytes}");
        var clock = Stopwatch.StartNew();
        var list = tensors.ToList();
        byte[] header = SafetensorsWriter.Header(list);
        long total = header.Length + list.Sum(kv => kv.Value.NumberOfElements * sizeof(float));
        long count = (total + chunkBytes - 1) / chunkBytes;
        if (count > int.MaxValue) throw new ArgumentException($"{total} bytes need {count} chunks of {chunkBytes}; use larger chunks");
        var chunks = new byte[count][];
        for (long i = 0; i < count; i++)
            chunks[i] = GC.AllocateUninitializedArray<byte>((int)Math.Min(chunkBytes, total - i * chunkBytes));
        var writer = new Writer(chunks, chunkBytes);
        writer.Write(header);
        foreach (var (_, t) in list)
        {
            using var scope = NewDisposeScope();
            var cpu = t.detach().to(ScalarType.Float32).cpu().contiguous();
            TensorBytes.Read(cpu, writer.Write);
        }
        return new WeightSnapshot(version, header, chunks, total, chunkBytes, clock.Elapsed.TotalSeconds);
    }

    sealed class Writer(byte[][] chunks, int chunkBytes)
    {
        long position;

        public void Write(ReadOnlySpan<byte> bytes)
        {
            while (bytes.Length > 0)
            {
                int index = (int)(position / chunkBytes), within = (int)(position % chunkBytes);
                int n = Math.Min(bytes.Length, chunks[index].Length - within);
                bytes[..n].CopyTo(chunks[index].AsSpan(within, n));
                bytes = bytes[n..];
                position += n;
            }
        }
    }
}
