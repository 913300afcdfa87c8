using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace TreePO.Hosting.Engines.Simulation;

/// <summary>The simulated engines' own instrument (meter <see cref="MeterName"/>): how long a request spent inside
/// its engine, queueing for a slot included. Set against the trees' segment duration it gives the time a request
/// spends outside the engine (routing, messages, the grains' turns): `bench scale` reads both.</summary>
public static class SimulationMeters
{
    public const string MeterName = "TreePO.Simulation";

    static readonly Meter Meter = new(MeterName);

    static readonly Histogram<double> RequestSeconds = Meter.CreateHistogram<double>("treepo.simulation.request.duration", "s",
        "From a segment request's arrival at a simulated engine to its answer, queueing included");

    public static void Request(long arrivalTimestamp)
    {
        if (RequestSeconds.Enabled) RequestSeconds.Record(Stopwatch.GetElapsedTime(arrivalTimestamp).TotalSeconds);
    }
}
