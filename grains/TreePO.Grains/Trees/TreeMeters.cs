using System.Diagnostics;
using System.Diagnostics.Metrics;
using TreePO.Engine.Telemetry;

namespace TreePO.Grains.Trees;

/// <summary>The query trees' instruments (meter <see cref="MeterName"/>), recorded by the tree grains of this silo and
/// their routed segment generators.</summary>
public static class TreeMeters
{
    public const string MeterName = "TreePO.Trees";

    static readonly Meter Meter = new(MeterName);

    static readonly UpDownCounter<long> InFlight = Meter.CreateUpDownCounter<long>("treepo.trees.in_flight", "{tree}",
        "Query trees sampling on this silo now");

    static readonly Histogram<double> SegmentSeconds = Meter.CreateHistogram("treepo.trees.segment.duration", "s",
        "From a tree's segment request to the engine's answer, queueing on the engine included",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Buckets.Seconds });

    // Totals read when a collector asks (observable): they are exported as 0 before the first fallback or failover,
    // so a dashboard or alert finds them from the start.
    static long fallbacks, failovers;

    static TreeMeters()
    {
        Meter.CreateObservableCounter("treepo.trees.fallbacks", () => Interlocked.Read(ref fallbacks), "{request}",
            "Segment requests that restarted from a finished path's prefix (or the prompt), in finished trees");
        Meter.CreateObservableCounter("treepo.trees.failovers", () => Interlocked.Read(ref failovers), "{failover}",
            "Trees moved off their engine after it failed (silo gone, no answer in time, placement refused)");
    }

    public static void TreeStarted() => InFlight.Add(1);

    public static void TreeEnded(int fallbackRequests)
    {
        InFlight.Add(-1);
        Interlocked.Add(ref fallbacks, fallbackRequests);
    }

    public static void Segment(long startTimestamp) => SegmentSeconds.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);

    public static void Failover() => Interlocked.Increment(ref failovers);
}
