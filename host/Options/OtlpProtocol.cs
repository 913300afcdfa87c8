namespace TreePO.Hosting.Options;

/// <summary>The OTLP exporter's transport (Telemetry:Otlp:Protocol).</summary>
public enum OtlpProtocol { Grpc, HttpProtobuf }
