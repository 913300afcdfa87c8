using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Hosting;
using StackExchange.Redis;
using TreePO.Grains.Trees;
using TreePO.Hosting.Clustering.Postgres;
using TreePO.Hosting.Options;
using OrleansClusterOptions = Orleans.Configuration.ClusterOptions;
using ClusterOptions = TreePO.Hosting.Options.ClusterOptions;

namespace TreePO.Hosting.Clustering;

/// <summary>Membership, endpoints, failure detection and TLS of a silo, from the Cluster options.</summary>
public static class SiloClustering
{
    public static ISiloBuilder Configure(ISiloBuilder silo, TreePOOptions options)
    {
        var c = options.Cluster;
        if (c.IsShared)
        {
            if (c.IsRedis) silo.UseRedisClustering(o => o.ConfigurationOptions = RedisConfiguration(c));
            else silo.UsePostgresClustering(c.Postgres);
            AddRunRecovery(silo, options);
            silo.Configure<OrleansClusterOptions>(o => { o.ClusterId = c.ClusterId; o.ServiceId = c.ServiceId; });
            IPAddress advertised = ClusterEndpoints.Advertised(c), listen = ClusterEndpoints.Listen(c);
            silo.Configure<EndpointOptions>(o =>
            {
                o.AdvertisedIPAddress = advertised;
                o.SiloPort = c.SiloPort;
                o.GatewayPort = c.GatewayPort;
                o.SiloListeningEndpoint = new IPEndPoint(listen, c.SiloPort);
                o.GatewayListeningEndpoint = new IPEndPoint(listen, c.GatewayPort);
            });
        }
        else
        {
            silo.UseLocalhostClustering(c.SiloPort, c.GatewayPort,
                primarySiloEndpoint: new IPEndPoint(IPAddress.Loopback, c.PrimarySiloPort),
                serviceId: c.ServiceId, clusterId: c.ClusterId);
        }
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = c.ProbeTimeout;
            o.NumMissedProbesLimit = c.MissedProbesLimit;
        });
        if (c.Tls.Enabled)
        {
            var tls = ClusterTls.Load(c.Tls);
            silo.UseTls(tls.Certificate, tls.Configure);
        }
        return silo;
    }

    /// <summary>Where trees keep their snapshots and runs their lease: next to the membership table with redis or
    /// postgres clustering (Redis, or the project's treepo_grain_state table: it outlives any silo), else Orleans'
    /// in-memory storage (spread over the silos' memory; a silo that dies takes its share with it, and those trees
    /// start over).</summary>
    public static ISiloBuilder AddTreeStorage(ISiloBuilder silo, TreePOOptions options)
    {
        AddStorage(silo, options, TreeProgress.StorageName, TimeSpan.FromDays(2));   // a tree nobody asks for again does not stay forever
        AddStorage(silo, options, TreePO.Grains.Training.RunStorage.Name, expiry: null);   // the lease expires by its own clock
        return silo;
    }

    static void AddStorage(ISiloBuilder silo, TreePOOptions options, string name, TimeSpan? expiry)
    {
        var c = options.Cluster;
        if (c.IsRedis)
            silo.AddRedisGrainStorage(name, o =>
            {
                o.ConfigurationOptions = RedisConfiguration(c);
                o.DeleteStateOnClear = true;
                o.EntryExpiry = expiry;
            });
        else if (c.IsPostgres)
            silo.AddPostgresGrainStorage(name, c.Postgres);
        else
            silo.AddMemoryGrainStorage(name);
    }

    /// <summary>Reminders next to the membership table (Redis, or the project's treepo_reminders table), so that a
    /// training run whose silo died is resumed by its reminder on another silo (RunRecovery): with a period under
    /// Orleans' minimum of one minute (Run:RecoveryPeriod), the minimum is lowered to it.</summary>
    static void AddRunRecovery(ISiloBuilder silo, TreePOOptions options)
    {
        var c = options.Cluster;
        TimeSpan period = options.Run.RecoveryPeriod;
        if (c.IsRedis) silo.UseRedisReminderService(o => o.ConfigurationOptions = RedisConfiguration(c));
        else silo.UsePostgresReminderService(c.Postgres);
        silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = period < o.MinimumReminderPeriod ? period : o.MinimumReminderPeriod);
        silo.Services.AddSingleton(new TreePO.Grains.Training.RunRecovery(true, period));
    }

    public static ConfigurationOptions RedisConfiguration(ClusterOptions c)
    {
        var o = ConfigurationOptions.Parse(c.Redis);
        o.ConnectTimeout = Math.Min(o.ConnectTimeout, 5000);
        return o;
    }
}
