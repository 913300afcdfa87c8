using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Orleans.Runtime;
using TreePO.Engine.Telemetry;
using TreePO.Grains.Engines;
using TreePO.Grains.Trees;
using TreePO.Grains.Training;
using TreePO.Hosting.Models;
using TreePO.Hosting.Options;

namespace TreePO.Hosting.Telemetry;

/// <summary>
/// Metrics and health of a silo process (<see cref="TelemetryOptions"/>), hosted beside the dashboard by
/// <see cref="Clustering.DashboardHosting"/>: <see cref="AddServices"/> registers the OpenTelemetry meter provider
/// (the TreePO meters and Orleans' own, exported to Prometheus and/or OTLP) and the health checks; <see cref="Listen"/>
/// adds the one Kestrel endpoint; <see cref="Map"/> serves /metrics, /health/live and /health/ready on it.
/// </summary>
public static class TelemetryHosting
{
    /// <summary>Orleans' meter (messaging, activations, membership...).</summary>
    public const string OrleansMeter = "Microsoft.Orleans";

    public static readonly IReadOnlyList<string> Meters =
        [EngineMeters.MeterName, TreeMeters.MeterName, TrainerMeters.MeterName, WeightSyncMeters.MeterName, OrleansMeter,
         Engines.Simulation.SimulationMeters.MeterName];

    public const string MetricsPath = "/metrics";
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";

    /// <summary>The URL of <paramref name="path"/> on the endpoint of these options.</summary>
    public static string Url(TelemetryOptions t, string path)
    {
        var address = IPAddress.Parse(t.Address);
        string host = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        return $"http://{host}:{t.Port}{path}";
    }

    public static void AddServices(IHostApplicationBuilder builder, TreePOOptions options)
    {
        var t = options.Telemetry;
        if (t.Health)
        {
            string[] ready = ["ready"], live = ["live"];
            builder.Services.AddHealthChecks()
                .Add(new HealthCheckRegistration("model", sp => new ModelHealthCheck(sp.GetService<ModelIdentity>()), null, ready))
                .Add(new HealthCheckRegistration("engines", sp => ActivatorUtilities.CreateInstance<EnginesHealthCheck>(sp), null, ready))
                .Add(new HealthCheckRegistration("membership", sp => Membership(sp, readiness: true), null, ready))
                .Add(new HealthCheckRegistration("alive", sp => Membership(sp, readiness: false), null, live));
        }
        bool otlp = t.Otlp.Endpoint.Length > 0;
        if (!t.Prometheus && !otlp) return;
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("treepo", serviceVersion: typeof(TelemetryHosting).Assembly.GetName().Version?.ToString()))
            .WithMetrics(m =>
            {
                m.AddMeter([.. Meters]);
                if (t.Prometheus) m.AddPrometheusExporter();
                if (otlp)
                    m.AddOtlpExporter((exporter, reader) =>
                    {
                        exporter.Endpoint = new Uri(t.Otlp.Endpoint);
                        exporter.Protocol = t.Otlp.Protocol == OtlpProtocol.Grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)t.Otlp.Interval.TotalMilliseconds;
                    });
            });
    }

    static MembershipHealthCheck Membership(IServiceProvider sp, bool readiness) =>
        new(sp.GetRequiredService<IClusterMembershipService>(), sp.GetRequiredService<ILocalSiloDetails>(), readiness);

    /// <summary>The endpoint's listener, on Telemetry:Address:Port only.</summary>
    public static void Listen(KestrelServerOptions kestrel, TelemetryOptions t) => kestrel.Listen(IPAddress.Parse(t.Address), t.Port);

    /// <summary>Maps the enabled endpoints and logs their URLs once the host has started, with a warning when they
    /// are not on loopback.</summary>
    public static void Map(WebApplication app, TreePOOptions options)
    {
        var t = options.Telemetry;
        if (!t.ServesHttp) return;
        var urls = new List<string>();
        if (t.Prometheus)
        {
            app.MapPrometheusScrapingEndpoint(MetricsPath);
            urls.Add(Url(t, MetricsPath));
        }
        if (t.Health)
        {
            app.MapHealthChecks(LivePath, Checks("live"));
            app.MapHealthChecks(ReadyPath, Checks("ready"));
            urls.Add(Url(t, LivePath));
            urls.Add(Url(t, ReadyPath));
        }
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TelemetryHosting));
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            logger.LogInformation("Telemetry at {Urls}", string.Join(" ", urls));
            if (!IPAddress.IsLoopback(IPAddress.Parse(t.Address)))
                logger.LogWarning("Metrics and health listen on {Address}, not loopback: anyone who reaches port {Port} reads them " +
                    "(docs/deploy.md)", t.Address, t.Port);
        });
    }

    static HealthCheckOptions Checks(string tag) => new()
    {
        Predicate = r => r.Tags.Contains(tag),
        ResponseWriter = WriteJsonAsync,
    };

    /// <summary>Each check's status, description and data, so a failed probe says why.</summary>
    static Task WriteJsonAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = e.Value.Status.ToString(),
                description = e.Value.Description,
                data = e.Value.Data,
            }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body));
    }
}
