using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using TreePO.Hosting.Options;

namespace TreePO.Hosting;

/// <summary>
/// A single-silo cluster inside the current process, on loopback ports chosen free at start so that several
/// embedded runs can share a machine. Used by the command line when no cluster is named.
/// </summary>
public sealed class EmbeddedSilo : IAsyncDisposable
{
    readonly IHost host;
    readonly TimeSpan shutdownTimeout;

    EmbeddedSilo(IHost host, TimeSpan shutdownTimeout)
    {
        this.host = host;
        this.shutdownTimeout = shutdownTimeout;
    }

    public IClusterClient Client => host.Services.GetRequiredService<IClusterClient>();
    public IServiceProvider Services => host.Services;

    /// <param name="options">The options tree (model, engines, routing); its cluster ports are ignored: an embedded
    /// silo takes free loopback ports.</param>
    /// <param name="configure">Runs after AddTreePO: tests replace services here.</param>
    public static async Task<EmbeddedSilo> StartAsync(TreePOOptions? options = null, Action<ISiloBuilder>? configure = null,
        LogLevel logLevel = LogLevel.Warning, CancellationToken cancellationToken = default)
    {
        options ??= new TreePOOptions();
        var builder = Clustering.DashboardHosting.CreateBuilder(options);   // a web host only with Cluster:Dashboard:Enabled
        ConfigureLogging(builder.Logging, logLevel);
        // Readiness reports the checked model; the check costs a second load, so only when someone asks for health.
        var model = options.Telemetry.Health ? Models.ModelCheck.Run(options) : null;
        // The stop is bounded by DisposeAsync's token (Cluster:ShutdownTimeout), not the host's own 30 s.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = Processes.ShutdownGuard.GracefulShare(options.Cluster.ShutdownTimeout));
        int siloPort = FreeTcpPort(), gatewayPort = FreeTcpPort();
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: options.Cluster.ServiceId, clusterId: options.Cluster.ClusterId);
            silo.AddTreePO(options, model);
            Clustering.DashboardHosting.AddDashboard(silo, options);
            configure?.Invoke(silo);
        });
        var host = Clustering.DashboardHosting.Build(builder, options);
        await host.StartAsync(cancellationToken);
        return new EmbeddedSilo(host, options.Cluster.ShutdownTimeout);
    }

    /// <summary>The embedded silo's console logging: single lines at <paramref name="logLevel"/> and above, without the
    /// notes that are noise on a laptop run; Orleans' CPU-starvation warnings go to <see cref="Logging.StarvationWarnings"/>
    /// (<paramref name="starvation"/>: standard error by default).</summary>
    public static void ConfigureLogging(ILoggingBuilder logging, LogLevel logLevel, TextWriter? starvation = null)
    {
        logging.ClearProviders();
        logging.AddSimpleConsole(o => o.SingleLine = true);
        logging.SetMinimumLevel(logLevel);
        // The ServerGC advice is noise on a 2-core laptop run.
        logging.AddFilter("Orleans.Runtime.Silo", LogLevel.Error);
        // Orleans' CPU-starvation warnings (watchdog, scheduler) come in bursts on a busy 2-core machine: shown, one
        // line a minute at most with what they mean, not hidden and not raw.
        Logging.StarvationWarnings.AddTo(logging, starvation);
        logging.AddFilter(typeof(Clustering.DashboardHosting).FullName, LogLevel.Information);   // its URL, once
        logging.AddFilter(typeof(Telemetry.TelemetryHosting).FullName, LogLevel.Information);   // metrics/health URLs, once
    }

    public static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Stops the silo: gracefully for two thirds of Cluster:ShutdownTimeout at most, or until the
    /// process's <see cref="Processes.ShutdownGuard"/> (armed by a signal) ends the graceful share, then ungracefully;
    /// the guard ends the process if that hangs too.</summary>
    public async ValueTask DisposeAsync()
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Processes.ShutdownGuard.Current?.Graceful ?? CancellationToken.None);
        cts.CancelAfter(Processes.ShutdownGuard.GracefulShare(shutdownTimeout));
        try { await host.StopAsync(cts.Token); }
        finally { host.Dispose(); }
    }
}
