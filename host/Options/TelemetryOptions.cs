using System.Net;

namespace TreePO.Hosting.Options;

/// <summary>
/// Metrics and health of a silo process (or of `rollout`/`train`'s embedded silo), all off by default. With
/// <see cref="Prometheus"/> or <see cref="Health"/> on, the process serves HTTP on <see cref="Address"/>:<see cref="Port"/>
/// only (loopback unless told otherwise): /metrics in Prometheus' text format, /health/live and /health/ready.
/// <see cref="Otlp"/> pushes the same metrics to an OpenTelemetry collector instead or as well. The metric names are
/// in docs/deploy.md.
/// </summary>
public sealed class TelemetryOptions
{
    /// <summary>Serve /metrics (the TreePO meters and Orleans' own) for Prometheus to scrape.</summary>
    public bool Prometheus { get; set; }

    /// <summary>Serve /health/live and /health/ready (model loaded, engines serving, membership status).</summary>
    public bool Health { get; set; }

    /// <summary>The IP the metrics and health endpoint listens on. Neither needs authentication to read; anything but
    /// loopback exposes them to the network, and the process warns when it does.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>The TCP port of /metrics and /health (9464: OpenTelemetry's Prometheus exporter default).</summary>
    public int Port { get; set; } = 9464;

    public TelemetryOtlpOptions Otlp { get; set; } = new();

    /// <summary>Whether the process needs an HTTP listener for these options.</summary>
    public bool ServesHttp => Prometheus || Health;

    /// <summary>Errors naming their key (the caller prefixes "TreePO:").</summary>
    public IReadOnlyList<string> Validate(ClusterOptions cluster)
    {
        var errors = new List<string>();
        void Check(bool ok, string key, string why) { if (!ok) errors.Add($"Telemetry:{key}: {why}"); }

        Check(Port is > 0 and < 65536, "Port", $"must be a TCP port, got {Port}");
        Check(!ServesHttp || (Port != cluster.SiloPort && Port != cluster.GatewayPort), "Port",
            $"{Port} is already this silo's {(Port == cluster.SiloPort ? "Cluster:SiloPort" : "Cluster:GatewayPort")}");
        Check(!ServesHttp || !cluster.Dashboard.Enabled || Port != cluster.Dashboard.Port, "Port",
            $"{Port} is already Cluster:Dashboard:Port; give the metrics and health endpoint its own port");
        Check(IPAddress.TryParse(Address, out _), "Address", $"'{Address}' is not an IP address (127.0.0.1 keeps the endpoint on this machine)");
        Check(Otlp.Endpoint.Length == 0 || (Uri.TryCreate(Otlp.Endpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"),
            "Otlp:Endpoint", $"'{Otlp.Endpoint}' is not an http:// or https:// URL (an OpenTelemetry collector, e.g. http://127.0.0.1:4317)");
        Check(Otlp.Interval >= TimeSpan.FromMilliseconds(100), "Otlp:Interval", $"must be at least 00:00:00.1, got {Otlp.Interval}");
        return errors;
    }
}

