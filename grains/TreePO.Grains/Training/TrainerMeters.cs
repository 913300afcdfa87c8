using System.Diagnostics.Metrics;
using TreePO.Engine.Telemetry;

namespace TreePO.Grains.Training;

/// <summary>The training runs' instruments (meter <see cref="MeterName"/>), recorded by the run grain after each step,
/// tagged with the run.</summary>
public static class TrainerMeters
{
    public const string MeterName = "TreePO.Trainer";

    static readonly Meter Meter = new(MeterName);

    static readonly Histogram<double> StepSeconds = Meter.CreateHistogram("treepo.trainer.step.duration", "s",
        "Wall time of a training step's phases: rollout (sampling the step's trees), update (the policy update), sync " +
        "(every engine pulling the new weights)",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Buckets.Seconds });

    static readonly Gauge<double> Loss = Meter.CreateGauge<double>("treepo.trainer.loss", null, "The last update's loss");

    static readonly Gauge<long> Version = Meter.CreateGauge<long>("treepo.trainer.policy.version", "{version}",
        "The weight version the run's engines sample with");

    /// <summary>One step: <paramref name="update"/> is null when the step trained nothing (its update and sync
    /// are then not recorded).</summary>
    public static void Step(string run, double rolloutSeconds, TrainStepReport? update, double updateSeconds, double syncSeconds, int version)
    {
        var tag = new KeyValuePair<string, object?>("run", run);
        StepSeconds.Record(rolloutSeconds, tag, new("phase", "rollout"));
        if (update is not null)
        {
            StepSeconds.Record(updateSeconds, tag, new("phase", "update"));
            StepSeconds.Record(syncSeconds, tag, new("phase", "sync"));
            Loss.Record(update.Loss, tag);
        }
        Version.Record(version, tag);
    }
}
