using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Hosting;
using TreePO.Hosting.Options;
using TreePO.Hosting.Telemetry;

namespace TreePO.Hosting.Clustering;

/// <summary>
/// The Orleans Dashboard of a silo process, opt-in (<see cref="ClusterDashboardOptions"/>). Enabled, the process is an
/// ASP.NET Core host whose Kestrel listens on Cluster:Dashboard:Address:Port only and serves the dashboard at
/// /dashboard/; the metrics and health endpoint (<see cref="TelemetryOptions"/>, <see cref="TelemetryHosting"/>) shares
/// that host, on its own port. With neither, it is a plain generic host with no HTTP server and no port. Used by silo/ and the embedded
/// silo alike: <see cref="CreateBuilder"/>, then <see cref="AddDashboard"/> inside UseOrleans, then <see cref="Build"/>.
/// </summary>
public static class DashboardHosting
{
    public const string PathPrefix = "/dashboard";

    /// <summary>Where the dashboard of these options is served (it ends with a slash: the page's assets are relative).</summary>
    public static string Url(ClusterDashboardOptions d)
    {
        var address = IPAddress.Parse(d.Address);
        string host = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        return $"http://{host}:{d.Port}{PathPrefix}/";
    }

    /// <summary>A host builder without defaults (no appsettings logging, no environment config of its own): an
    /// ASP.NET Core one when the dashboard is enabled, else a generic host.</summary>
    public static IHostApplicationBuilder CreateBuilder(TreePOOptions options)
    {
        var d = options.Cluster.Dashboard;
        var t = options.Telemetry;
        if (!d.Enabled && !t.ServesHttp)
        {
            var plain = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            TelemetryHosting.AddServices(plain, options);   // OTLP export needs no listener
            return plain;
        }
        var web = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        // Kestrel without its configuration loader: no Kestrel:Endpoints section or ASPNETCORE_URLS can add a
        // listener; the dashboard's and the telemetry's endpoints (each only when enabled) are all there is.
        web.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            if (d.Enabled) k.Listen(IPAddress.Parse(d.Address), d.Port);
            if (t.ServesHttp) TelemetryHosting.Listen(k, t);
        });
        web.Services.AddRoutingCore();
        web.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);   // not a line per request the page polls
        TelemetryHosting.AddServices(web, options);
        return web;
    }

    /// <summary>The dashboard's silo side (grain service, call profiler, counters) when enabled. The trace page,
    /// which streams the silo's log, is hidden: the page has no authentication. Disabled, the silo does not host the
    /// dashboard's grains either (their assembly is referenced, so Orleans would offer them): in a cluster where one
    /// silo serves the dashboard, its grain is then placed there, next to its services, never on a silo without them.</summary>
    public static ISiloBuilder AddDashboard(ISiloBuilder silo, TreePOOptions options)
    {
        if (options.Cluster.Dashboard.Enabled)
            silo.AddDashboard(o => o.HideTrace = true);
        else
            silo.Configure<GrainTypeOptions>(o => o.Classes.RemoveWhere(t => t.Assembly == typeof(DashboardOptions).Assembly));
        return silo;
    }

    /// <summary>Builds the host; with the dashboard, maps it at /dashboard (and / redirecting there) and logs its
    /// URL once the host has started, with a warning when it is not on loopback.</summary>
    public static IHost Build(IHostApplicationBuilder builder, TreePOOptions options)
    {
        if (builder is HostApplicationBuilder plain) return plain.Build();
        var app = ((WebApplicationBuilder)builder).Build();
        TelemetryHosting.Map(app, options);
        var d = options.Cluster.Dashboard;
        if (!d.Enabled) return app;
        app.MapGet("/", () => Results.Redirect(PathPrefix + "/"));
        app.MapOrleansDashboard(PathPrefix);

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DashboardHosting));
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            logger.LogInformation("Orleans Dashboard at {Url}", Url(d));
            if (!IPAddress.IsLoopback(IPAddress.Parse(d.Address)))
                logger.LogWarning("The dashboard listens on {Address}, not loopback: it has no authentication, anyone who " +
                    "reaches this port sees the cluster. Prefer 127.0.0.1 and an SSH tunnel (docs/deploy.md)", d.Address);
        });
        return app;
    }
}
