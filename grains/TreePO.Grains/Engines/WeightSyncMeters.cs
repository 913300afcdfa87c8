using System.Diagnostics.Metrics;
using TreePO.Engine.Telemetry;

namespace TreePO.Grains.Engines;

/// <summary>The weight syncs' instruments (meter <see cref="MeterName"/>), recorded by each engine grain as it finishes
/// a pull, tagged with the path taken (local, socket, relay, chunks).</summary>
public static class WeightSyncMeters
{
    public const string MeterName = "TreePO.WeightSync";

    static readonly Meter Meter = new(MeterName);

    static readonly Counter<long> Bytes = Meter.CreateCounter<long>("treepo.weightsync.transferred", "By",
        "Weight bytes engines pulled from trainers");

    static readonly Histogram<double> Seconds = Meter.CreateHistogram("treepo.weightsync.duration", "s",
        "One engine's pull of one weight version, handshake to swap",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Buckets.Seconds });

    public static WeightSyncReport Record(WeightSyncReport report)
    {
        if (report.Skipped) return report;
        var path = new KeyValuePair<string, object?>("path", report.Path);
        Bytes.Add(report.Bytes, path);
        Seconds.Record(report.TotalSeconds, path);
        return report;
    }
}
