using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TreePO.Hosting.Options;

namespace TreePO.Hosting;

/// <summary>
/// A client of a TreePO cluster for one command: either an embedded single-silo cluster inside this process (the
/// default, no setup) or an external client joining a running cluster through a silo's gateway.
/// </summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    readonly IAsyncDisposable owner;

    ClusterConnection(IAsyncDisposable owner, IClusterClient client, string description)
    {
        this.owner = owner;
        Client = client;
        Description = description;
    }

    public IClusterClient Client { get; }

    /// <summary>What the command is talking to, for its output.</summary>
    public string Description { get; }

    public static async Task<ClusterConnection> EmbeddedAsync(TreePOOptions options, CancellationToken cancellationToken = default)
    {
        var silo = await EmbeddedSilo.StartAsync(options, cancellationToken: cancellationToken);
        return new ClusterConnection(silo, silo.Client, $"embedded silo, {Engines.EngineDevices.Of(options.Engine).Count} engine(s)");
    }

    /// <summary>Joins a running cluster: through <c>Cluster:GatewayPort</c> on this machine (localhost clustering) or
    /// any gateway listed in Redis (redis clustering).</summary>
    public static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(60);

    public static async Task<ClusterConnection> JoinAsync(TreePOOptions options, CancellationToken cancellationToken = default)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Error);
        builder.UseOrleansClient(client => client.AddTreePO(options));
        var host = builder.Build();
        // A gateway that never completes the handshake (TLS on one side only, a wrong certificate) keeps the Orleans
        // client trying forever: give up after a minute.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(JoinTimeout);
        try
        {
            await host.StartAsync(deadline.Token);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            host.Dispose();
            throw new ClusterUnavailableException(
                $"no TreePO silo of {Clustering.ClientClustering.Describe(options.Cluster)} answers ({e.GetBaseException().Message}); " +
                (deadline.IsCancellationRequested ? $"no connection within {JoinTimeout.TotalSeconds:F0} s (TLS on one side only, or another certificate?); " : "") +
                "start one with `dotnet run --project silo`, check the Cluster options (docs/deploy.md), or leave out --cluster for an embedded silo", e);
        }
        return new ClusterConnection(new HostOwner(host), host.Services.GetRequiredService<IClusterClient>(),
            Clustering.ClientClustering.Describe(options.Cluster));
    }

    public ValueTask DisposeAsync() => owner.DisposeAsync();

    sealed class HostOwner(IHost host) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try { await host.StopAsync(cts.Token); }
            finally { host.Dispose(); }
        }
    }
}

