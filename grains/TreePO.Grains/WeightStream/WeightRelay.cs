using System.Buffers.Binary;

namespace TreePO.Grains.WeightStream;

/// <summary>
/// An engine re-serving the weight version it is receiving to the engines below it in a fan-out tree
/// (Cluster:WeightFanout=tree, docs/cluster.md). The bytes pass, in order, through a bounded ring of
/// <see cref="Capacity"/> bytes while they arrive, and each child's connection (<see cref="WeightStreamServer"/>) is
/// served from the ring: a relaying engine never holds a second copy of the weights, and a child receives a chunk
/// about when its parent does (a pipeline, not store-and-forward). A byte is overwritten only once every child has
/// sent it on; children that have not yet connected hold the start of the stream. The receiving side therefore waits
/// for its slowest child, and a child that takes nothing for half the stall timeout is dropped (its connection is cut
/// and it pulls from the trainer), so that the parent's own upstream never sees it stall. Children check every chunk
/// against the trainer's manifest themselves: the relay forwards, it does not vouch. When the parent's pull fails, or
/// its bytes stop arriving in order (it fell back to Orleans chunks), the relay fails and every child falls back.
/// </summary>
public sealed class WeightRelay
{
    public const int DefaultCapacity = 32 << 20;

    /// <summary>The most bytes one write to a child carries: the ring frees space in steps of this at most.</summary>
    const int SendBytes = 4 << 20;

    readonly byte[] ring;
    readonly object gate = new();
    readonly List<Reader> readers = [];
    readonly TimeSpan stall;
    TaskCompletionSource progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    long written, served;
    int unattached;   // children expected that have not connected yet: they hold byte 0
    Exception? failure;

    sealed class Reader
    {
        public long Position;
        public bool Dropped;
    }

    public WeightRelay(string round, int version, long totalBytes, TimeSpan stallTimeout, int capacity = DefaultCapacity)
    {
        if (totalBytes < 1) throw new ArgumentOutOfRangeException(nameof(totalBytes), $"must be positive, got {totalBytes}");
        Round = round;
        Version = version;
        TotalBytes = totalBytes;
        stall = stallTimeout;
        ring = new byte[(int)Math.Min(Math.Max(1, capacity), totalBytes)];
    }

    /// <summary>The fan-out round this relay serves (one per trainer version and sync).</summary>
    public string Round { get; }
    public int Version { get; }
    public long TotalBytes { get; }
    public int Capacity => ring.Length;

    /// <summary>Bytes received into the ring so far.</summary>
    public long Forwarded { get { lock (gate) return written; } }

    /// <summary>Bytes sent on to children, all together.</summary>
    public long Served => Interlocked.Read(ref served);

    /// <summary>Children dropped for taking nothing within half the stall timeout (or never connecting).</summary>
    public int Dropped { get; private set; }

    public bool IsComplete { get { lock (gate) return written == TotalBytes; } }

    /// <summary>Why the relay stopped serving, once it has.</summary>
    public Exception? Failure { get { lock (gate) return failure; } }

    /// <summary>The parent's plan: this many children will connect; until they have, the ring keeps byte 0.</summary>
    public void Expect(int children)
    {
        lock (gate) unattached = Math.Max(0, children - readers.Count);
    }

    /// <summary>Stops serving: children still reading are cut off with <paramref name="why"/> and fall back. A relay
    /// that has received every byte keeps serving what its children still need.</summary>
    public void Fail(Exception why)
    {
        lock (gate)
        {
            if (written == TotalBytes || failure is not null) return;
            failure = why;
            Signal();
        }
    }

    /// <summary>The parent's received bytes from <paramref name="offset"/>, in order. Bytes already forwarded are
    /// skipped (a parent whose upstream broke restarts from the trainer at byte 0 and the relay goes on where it was);
    /// a gap fails the relay. Blocks while the ring is full (see the class summary).</summary>
    public void Push(long offset, ReadOnlySpan<byte> bytes)
    {
        lock (gate)
        {
            if (failure is not null) return;
            if (offset > written)
            {
                failure = new IOException($"weights of version {Version}: the relaying engine received bytes from {offset} after {written}, out of order; pull from the trainer");
                Signal();
                return;
            }
            long skip = written - offset;
            if (skip >= bytes.Length) return;
            bytes = bytes[(int)skip..];
        }
        var patience = stall / 2;
        while (!bytes.IsEmpty)
        {
            int n;
            lock (gate)
            {
                while (failure is null && written - Floor() >= ring.Length)
                    if (!Monitor.Wait(gate, patience)) DropSlowest();
                if (failure is not null) return;
                int at = (int)(written % ring.Length);
                n = (int)Math.Min(Math.Min(ring.Length - (written - Floor()), ring.Length - at), bytes.Length);
                bytes[..n].CopyTo(ring.AsSpan(at, n));
                written += n;
                Signal();
            }
            bytes = bytes[n..];
        }
    }

    /// <summary>The lowest byte a child still needs (0 while an expected child has not connected).</summary>
    long Floor()
    {
        if (unattached > 0) return 0;
        long floor = written;
        foreach (var r in readers) floor = Math.Min(floor, r.Position);
        return floor;
    }

    void DropSlowest()
    {
        long floor = Floor();
        if (unattached > 0 && floor == 0)
        {
            Dropped += unattached;
            unattached = 0;
        }
        foreach (var r in readers.Where(r => r.Position == floor).ToList())
        {
            r.Dropped = true;
            readers.Remove(r);
            Dropped++;
        }
        Signal();
    }

    void Signal()
    {
        var old = progress;
        progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
        old.TrySetResult();
        Monitor.PulseAll(gate);
    }

    /// <summary>Serves one child on <paramref name="stream"/> after its token: a status byte, the length, then the
    /// bytes as they arrive. Refused (status 2) when the ring has already moved past byte 0. Throws
    /// <see cref="IOException"/> when the relay fails, the child was dropped or the parent went silent.</summary>
    internal async Task ServeAsync(Stream stream, Action<int> sent, EgressPace? pace, CancellationToken stop)
    {
        Reader? reader = null;
        lock (gate)
        {
            if (failure is null && written <= ring.Length)
            {
                reader = new Reader();
                if (unattached > 0) unattached--;
                readers.Add(reader);
            }
        }
        using var write = CancellationTokenSource.CreateLinkedTokenSource(stop);
        write.CancelAfter(stall);
        if (reader is null)
        {
            await stream.WriteAsync(new byte[] { 2 }, write.Token);
            await stream.FlushAsync(write.Token);
            return;
        }
        try
        {
            var head = new byte[9];
            BinaryPrimitives.WriteInt64LittleEndian(head.AsSpan(1), TotalBytes);
            await stream.WriteAsync(head, write.Token);
            while (reader.Position < TotalBytes)
            {
                var (start, length) = await NextAsync(reader, stop);
                if (pace is not null) await pace.WaitAsync(length, stop);
                write.CancelAfter(stall);
                await stream.WriteAsync(ring.AsMemory(start, length), write.Token);
                lock (gate)
                {
                    reader.Position += length;
                    Monitor.PulseAll(gate);
                }
                Interlocked.Add(ref served, length);
                sent(length);
            }
            write.CancelAfter(stall);
            await stream.FlushAsync(write.Token);
        }
        finally
        {
            lock (gate)
            {
                readers.Remove(reader);
                Monitor.PulseAll(gate);
            }
        }
    }

    /// <summary>The next run of ring bytes <paramref name="reader"/> has not sent, waiting for the parent to receive
    /// some (within the stall timeout).</summary>
    async Task<(int Start, int Length)> NextAsync(Reader reader, CancellationToken stop)
    {
        while (true)
        {
            Task wait;
            lock (gate)
            {
                if (reader.Dropped)
                    throw new IOException($"weights of version {Version}: this child took nothing for {(stall / 2).TotalSeconds:F0} s and was dropped from the relay; pull from the trainer");
                if (failure is not null)
                    throw new IOException($"weights of version {Version}: the relaying engine stopped ({failure.Message})", failure);
                if (written > reader.Position)
                {
                    int start = (int)(reader.Position % ring.Length);
                    return (start, (int)Math.Min(Math.Min(written - reader.Position, ring.Length - start), SendBytes));
                }
                wait = progress.Task;
            }
            try { await wait.WaitAsync(stall, stop); }
            catch (TimeoutException e)
            {
                throw new IOException($"weights of version {Version}: the relaying engine received nothing for {stall.TotalSeconds:F0} s", e);
            }
        }
    }
}
