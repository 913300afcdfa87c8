namespace TreePO.Engine.Checkpoint;

/// <summary>
/// Where one weight version's safetensors bytes land while they arrive: pieces written at their file offsets, in any
/// order and from several threads at once (for disjoint ranges). Complete once every byte has arrived exactly once;
/// only then may the engine swap it in.
/// </summary>
public abstract class WeightSink : IDisposable
{
    long received;
    long writeTicks;

    protected WeightSink(int version, ReadOnlySpan<byte> header, long totalBytes)
    {
        if (header.Length < 8) throw new InvalidDataException($"weights of version {version}: a header of {header.Length} bytes");
        if (totalBytes < header.Length) throw new InvalidDataException($"weights of version {version}: {totalBytes} bytes in all, fewer than the header's {header.Length}");
        Version = version;
        Header = header.ToArray();
        TotalBytes = totalBytes;
    }

    public int Version { get; }
    public byte[] Header { get; }
    public long TotalBytes { get; }
    public long ReceivedBytes => Interlocked.Read(ref received);
    public bool IsComplete => ReceivedBytes == TotalBytes;
    /// <summary>Time spent copying arrived bytes into place, summed over writers (the bytes-to-tensors phase).</summary>
    public TimeSpan WriteTime => TimeSpan.FromTicks(Interlocked.Read(ref writeTicks));

    /// <summary>Places <paramref name="bytes"/>, the file's bytes from <paramref name="offset"/>. Bytes in the header
    /// region must equal the header the sink was opened with.</summary>
    public void Write(long offset, ReadOnlySpan<byte> bytes)
    {
        if (offset < 0 || offset + bytes.Length > TotalBytes)
            throw new InvalidDataException($"weights of version {Version}: bytes [{offset}, {offset + bytes.Length}) outside the {TotalBytes} announced");
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        if (offset < Header.Length)
        {
            int n = (int)Math.Min(bytes.Length, Header.Length - offset);
            if (!bytes[..n].SequenceEqual(Header.AsSpan((int)offset, n)))
                throw new InvalidDataException($"weights of version {Version}: the bytes at offset {offset} differ from the announced header");
        }
        Place(offset, bytes);
        Interlocked.Add(ref writeTicks, System.Diagnostics.Stopwatch.GetElapsedTime(start).Ticks);
        if (Interlocked.Add(ref received, bytes.Length) > TotalBytes)
            throw new InvalidDataException($"weights of version {Version}: more than the {TotalBytes} bytes announced arrived (a piece sent twice)");
    }

    /// <summary>Copies the bytes into place (thread-safe for disjoint ranges).</summary>
    protected abstract void Place(long offset, ReadOnlySpan<byte> bytes);

    /// <summary>Reads into a span and returns how many bytes it read (0: the source ended).</summary>
    public delegate int SpanReader(Span<byte> destination);

    /// <summary>Places the next bytes from <paramref name="offset"/> (at most <paramref name="maxLength"/>) by letting
    /// <paramref name="read"/> fill the sink's own storage directly where it can (a socket receiving straight into a
    /// staging tensor: no copy), else <paramref name="scratch"/> followed by <see cref="Write"/>. Returns the bytes placed.</summary>
    public int Fill(long offset, int maxLength, SpanReader read, byte[] scratch)
    {
        if (offset < 0 || maxLength < 1 || offset + maxLength > TotalBytes)
            throw new InvalidDataException($"weights of version {Version}: bytes [{offset}, {offset + maxLength}) outside the {TotalBytes} announced");
        var region = offset < Header.Length ? default : Region(offset, maxLength);
        if (region.IsEmpty)
        {
            int n = read(scratch.AsSpan(0, Math.Min(maxLength, scratch.Length)));
            if (n > 0) Write(offset, scratch.AsSpan(0, n));
            return n;
        }
        int got = read(region);
        if (Interlocked.Add(ref received, got) > TotalBytes)
            throw new InvalidDataException($"weights of version {Version}: more than the {TotalBytes} bytes announced arrived (a piece sent twice)");
        return got;
    }

    /// <summary>The sink's own storage for the bytes from <paramref name="offset"/> (at most <paramref name="maxLength"/>),
    /// or empty where it has none (bytes that go nowhere, or no such storage).</summary>
    protected virtual Span<byte> Region(long offset, int maxLength) => default;

    /// <summary>Fails unless every byte arrived.</summary>
    public void EnsureComplete()
    {
        if (!IsComplete)
            throw new InvalidDataException($"weights of version {Version}: {ReceivedBytes} of {TotalBytes} bytes arrived; not swapped in");
    }

    public virtual void Dispose() { }
}

