namespace TreePO.Engine.Telemetry;

/// <summary>Histogram bucket bounds shared by the TreePO meters. OpenTelemetry's default bounds suit milliseconds;
/// these instruments record seconds, from a 1 ms engine step to a minutes-long training step.</summary>
public static class Buckets
{
    public static readonly IReadOnlyList<double> Seconds =
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500];
}
