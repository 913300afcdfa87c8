using System.Diagnostics;

namespace TreePO.Grains.WeightStream;

/// <summary>
/// A cap on what one silo's weight stream sends, all connections together (Cluster:WeightStreamMBps): a virtual link
/// of <see cref="BytesPerSecond"/> that each send books in turn and waits out, so concurrent streams share it. In
/// production it leaves room for Orleans' own traffic on a shared network card; `bench scale --weight-sync-only --cluster.weightstreammbps=N` uses it to
/// give each silo process a link of its own on one machine.
/// </summary>
public sealed class EgressPace(double bytesPerSecond)
{
    readonly object gate = new();
    readonly Stopwatch clock = Stopwatch.StartNew();
    double free;   // seconds on the clock when the link has sent everything booked so far

    public double BytesPerSecond { get; } = bytesPerSecond > 0 ? bytesPerSecond
        : throw new ArgumentOutOfRangeException(nameof(bytesPerSecond), $"must be positive, got {bytesPerSecond}");

    /// <summary>Waits until the link has carried <paramref name="bytes"/> after everything booked before them.</summary>
    public Task WaitAsync(int bytes, CancellationToken cancellationToken)
    {
        double wait;
        lock (gate)
        {
            double now = clock.Elapsed.TotalSeconds;
            free = Math.Max(free, now) + bytes / BytesPerSecond;
            wait = free - now;
        }
        return wait < 0.001 ? Task.CompletedTask : Task.Delay(TimeSpan.FromSeconds(wait), cancellationToken);
    }
}
