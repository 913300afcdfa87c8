using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TreePO.Hosting;
using TreePO.Hosting.Options;

namespace TreePO.Cluster.Tests.Support;

/// <summary>A silo or a client in this process, wired exactly as silo/ and `treepo --cluster` wire theirs.</summary>
public static class InProcessHosts
{
    public static IHost BuildSilo(TreePOOptions options)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Critical);
        builder.UseOrleans(silo =>
        {
            silo.UseTreePOClustering(options);
            silo.AddTreePO(options);
        });
        return builder.Build();
    }

    public static async Task<IHost> StartSiloAsync(TreePOOptions options)
    {
        var host = BuildSilo(options);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await host.StartAsync(cts.Token);
        return host;
    }

    /// <summary>Starts a client and makes one call into the cluster; throws when either fails, within the timeout.</summary>
    public static async Task<IHost> StartClientAsync(TreePOOptions options, TimeSpan timeout)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Critical);
        builder.UseOrleansClient(client => client.AddTreePO(options));
        var host = builder.Build();
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            await host.StartAsync(cts.Token);
            var hosts = await host.Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0)
                .GetHosts(onlyActive: true).WaitAsync(cts.Token);
            if (hosts.Count == 0) throw new InvalidOperationException("the cluster reports no active silo");
            return host;
        }
        catch
        {
            await StopAsync(host);
            throw;
        }
    }

    public static async Task StopAsync(IHost host)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try { await host.StopAsync(cts.Token); }
        catch (OperationCanceledException) { }
        finally { host.Dispose(); }
    }
}
