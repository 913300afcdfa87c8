using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Hosting;
using TreePO.Hosting.Clustering.Postgres;
using TreePO.Hosting.Options;
using OrleansClusterOptions = Orleans.Configuration.ClusterOptions;
using ClusterOptions = TreePO.Hosting.Options.ClusterOptions;

namespace TreePO.Hosting.Clustering;

/// <summary>How an external client (treepo rollout/train --cluster) finds the gateways: the same Cluster options as
/// the silos.</summary>
public static class ClientClustering
{
    public static IClientBuilder Configure(IClientBuilder client, TreePOOptions options)
    {
        var c = options.Cluster;
        if (c.IsShared)
        {
            if (c.IsRedis) client.UseRedisClustering(o => o.ConfigurationOptions = SiloClustering.RedisConfiguration(c));
            else client.UsePostgresClustering(c.Postgres);
            client.Configure<OrleansClusterOptions>(o => { o.ClusterId = c.ClusterId; o.ServiceId = c.ServiceId; });
            // Gateways that die are dropped on the first failed connection; new ones are learnt this often.
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(10));
        }
        else
        {
            client.UseLocalhostClustering(c.GatewayPort, c.ServiceId, c.ClusterId);
        }
        if (c.Tls.Enabled)
        {
            var tls = ClusterTls.Load(c.Tls);
            client.UseTls(tls.Certificate, tls.Configure);
        }
        return client;
    }

    /// <summary>Where the client looks for the cluster, for messages.</summary>
    public static string Describe(ClusterOptions c) => c.IsRedis
        ? $"cluster '{c.ClusterId}' (redis membership at {RedisConnection.Redacted(c.Redis)}{(c.Tls.Enabled ? ", TLS" : "")})"
        : c.IsPostgres
        ? $"cluster '{c.ClusterId}' (postgres membership at {PostgresDataSource.Describe(c.Postgres)}{(c.Tls.Enabled ? ", TLS" : "")})"
        : $"cluster '{c.ClusterId}' via gateway 127.0.0.1:{c.GatewayPort}{(c.Tls.Enabled ? " (TLS)" : "")}";
}
