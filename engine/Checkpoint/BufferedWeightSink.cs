namespace TreePO.Engine.Checkpoint;

/// <summary>A sink that assembles the whole file in one array (small models, test engines, the stream-based swap).</summary>
public sealed class BufferedWeightSink : WeightSink
{
    readonly byte[] file;

    public BufferedWeightSink(int version, ReadOnlySpan<byte> header, long totalBytes) : base(version, header, totalBytes)
    {
        if (totalBytes > Array.MaxLength) throw new ArgumentException($"weights of version {version}: {totalBytes} bytes do not fit one array");
        file = new byte[totalBytes];
    }

    protected override void Place(long offset, ReadOnlySpan<byte> bytes) => bytes.CopyTo(file.AsSpan((int)offset));

    protected override Span<byte> Region(long offset, int maxLength) => file.AsSpan((int)offset, maxLength);

    /// <summary>The assembled file (complete only).</summary>
    public MemoryStream OpenRead()
    {
        EnsureComplete();
        return new MemoryStream(file, writable: false);
    }
}
