namespace TreePO.Hosting.Options;

/// <summary>OTLP export of the metrics to an OpenTelemetry collector; off while <see cref="Endpoint"/> is empty.</summary>
public sealed class TelemetryOtlpOptions
{
    /// <summary>The collector's URL: http://HOST:4317 for gRPC, http://HOST:4318/v1/metrics for HTTP/protobuf.</summary>
    public string Endpoint { get; set; } = "";

    public OtlpProtocol Protocol { get; set; } = OtlpProtocol.Grpc;

    /// <summary>How often the metrics are pushed.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(15);
}
