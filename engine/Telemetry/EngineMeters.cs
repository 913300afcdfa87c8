using TreePO.Core.Protocol;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace TreePO.Engine.Telemetry;

/// <summary>
/// The engine's instruments (meter <see cref="MeterName"/>). Counters and gauges are read from each live engine's
/// published <see cref="EngineCounters"/> when a collector asks, so the model thread pays nothing for them; only the step
/// time and batch size are recorded as they happen (one call per step from the step runner). Exported by the host
/// (Telemetry options) and free when nothing listens.
/// </summary>
public static class EngineMeters
{
    public const string MeterName = "TreePO.Engine";

    static readonly Meter Meter = new(MeterName);
    static readonly ConcurrentDictionary<InferenceEngine, KeyValuePair<string, object?>[]> Engines = new();
    static int nextEngine = -1;

    static readonly Histogram<double> StepSeconds = Meter.CreateHistogram("treepo.engine.step.duration", "s",
        "Wall time of one engine step: forward, sampling and bookkeeping of every running sequence",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Buckets.Seconds });

    static readonly Histogram<int> BatchSize = Meter.CreateHistogram("treepo.engine.batch.size", "{sequence}",
        "Sequences in one engine step (decode branches plus prefill chunks)",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] });

    static EngineMeters()
    {
        Meter.CreateObservableCounter("treepo.engine.tokens", ObserveTokens, "{token}",
            "Tokens by kind: prefill (context computed), decode (sampled), reused (K/V served from cache), recomputed " +
            "(of prefill, K/V computed before under the same weights and lost)");
        Meter.CreateObservableGauge("treepo.engine.queue.depth", () => Observe(s => s.QueueDepth), "{request}",
            "Requests waiting for slots or KV budget");
        Meter.CreateObservableGauge("treepo.engine.slots.live", () => Observe(s => s.LiveSlots), "{slot}",
            "Slots holding a running branch or cached nodes");
        Meter.CreateObservableGauge("treepo.engine.kv.used", () => Observe(s => s.KvBytesUsed), "By",
            "KV cache bytes in use");
        Meter.CreateObservableGauge("treepo.engine.kv.budget", () => Observe(s => s.KvBudgetBytes), "By",
            "KV cache bytes the engine may use");
        Meter.CreateObservableCounter("treepo.engine.kv.evictions", () => Observe(s => s.Evictions), "{slot}",
            "Cached slots evicted to make room");
    }

    /// <summary>Counts an engine from its start to its disposal; its measurements carry its device and a
    /// process-wide engine number.</summary>
    internal static void Track(InferenceEngine engine, string device) =>
        Engines[engine] = [new("device", device), new("engine", Interlocked.Increment(ref nextEngine).ToString(System.Globalization.CultureInfo.InvariantCulture))];

    internal static void Untrack(InferenceEngine engine) => Engines.TryRemove(engine, out _);

    /// <summary>One step began at <paramref name="startTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/>) and ran
    /// <paramref name="batch"/> sequences.</summary>
    public static void RecordStep(long startTimestamp, int batch)
    {
        if (StepSeconds.Enabled) StepSeconds.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);
        if (BatchSize.Enabled) BatchSize.Record(batch);
    }

    static IEnumerable<Measurement<long>> Observe(Func<EngineCounters, long> value) =>
        Engines.Select(e => new Measurement<long>(value(e.Key.GetStats()), e.Value)).ToList();

    static IEnumerable<Measurement<long>> ObserveTokens()
    {
        var result = new List<Measurement<long>>();
        foreach (var (engine, tags) in Engines)
        {
            var s = engine.GetStats();
            result.Add(new(s.PrefillTokens, [.. tags, new("kind", "prefill")]));
            result.Add(new(s.DecodeTokens, [.. tags, new("kind", "decode")]));
            result.Add(new(s.ReusedTokens, [.. tags, new("kind", "reused")]));
            result.Add(new(s.RecomputedTokens, [.. tags, new("kind", "recomputed")]));
        }
        return result;
    }
}
