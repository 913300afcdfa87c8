using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using System.Net;
using Npgsql;
using Orleans.Storage;
using TreePO.Cluster.Tests.Support;
using TreePO.Grains.Trees;
using TreePO.Hosting.Clustering.Postgres;
using TreePO.Hosting.Options;

namespace TreePO.Cluster.Tests;

/// <summary>Cluster:Clustering=postgres and Cluster:Postgres: checked by name before anything starts, and wired
/// into the silo like redis clustering (the project's membership table; loopback unless told otherwise).</summary>
public sealed class PostgresOptionsTests
{
    [Fact]
    public void The_postgres_key_is_checked_by_name()
    {
        var empty = Assert.Throws<TreePOOptionsException>(() => TreePOConfiguration.Load(["--cluster.clustering=postgres", "--cluster.postgres="]));
        Assert.Contains(empty.Errors, x => x.StartsWith("TreePO:Cluster:Postgres: must not be empty"));
        var bad = Assert.Throws<TreePOOptionsException>(() => TreePOConfiguration.Load(["--cluster.clustering=postgres", "--cluster.postgres=Hots=x"]));
        Assert.Contains(bad.Errors, x => x.StartsWith("TreePO:Cluster:Postgres: not an Npgsql connection string"));
        var noDb = Assert.Throws<TreePOOptionsException>(() => TreePOConfiguration.Load(["--cluster.clustering=postgres",
            "--cluster.postgres=Host=db;Username=u;Password=secret"]));
        var e = Assert.Single(noDb.Errors);
        Assert.StartsWith("TreePO:Cluster:Postgres: 'Host=db;Username=u;Password=***' names no Database", e);

        var ok = TreePOConfiguration.Load(["--cluster.clustering=postgres", "--cluster.listenAddress=0.0.0.0"]);   // not loopback-only
        Assert.True(ok.Cluster.IsPostgres);
        Assert.Equal("Host=127.0.0.1;Port=5432;Username=postgres;Database=treepo", ok.Cluster.Postgres);
        var unknown = Assert.Throws<TreePOOptionsException>(() => TreePOConfiguration.Load(["--cluster.clustering=mysql"]));
        Assert.Contains(unknown.Errors, x => x.Contains("use one of: localhost, redis, postgres"));
    }

    [Fact]
    public void A_postgres_silo_uses_the_project_membership_table_on_loopback()
    {
        var o = new TreePOOptions();
        o.Cluster.Clustering = "postgres";
        o.Cluster.ClusterId = "wired";
        using var silo = InProcessHosts.BuildSilo(o);
        var table = Assert.IsType<PostgresMembershipTable>(silo.Services.GetRequiredService<IMembershipTable>());
        Assert.IsType<PostgresGrainStorage>(silo.Services.GetRequiredKeyedService<IGrainStorage>(TreeProgress.StorageName));
        Assert.Equal("127.0.0.1:5432/treepo", table.Where);
        Assert.Equal("wired", silo.Services.GetRequiredService<IOptions<Orleans.Configuration.ClusterOptions>>().Value.ClusterId);
        var e = silo.Services.GetRequiredService<IOptions<EndpointOptions>>().Value;
        Assert.Equal(IPAddress.Loopback, e.AdvertisedIPAddress);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, o.Cluster.GatewayPort), e.GatewayListeningEndpoint);
    }

    [Fact]
    public void Connection_pools_are_capped_unless_the_connection_string_sizes_them()
    {
        static int Max(string cs, int cap)
        {
            using var source = PostgresDataSource.Create(cs, cap);
            return new NpgsqlConnectionStringBuilder(source.ConnectionString).MaxPoolSize;
        }
        Assert.Equal(PostgresMembershipTable.MaxConnections, Max("Host=db;Database=treepo", PostgresMembershipTable.MaxConnections));
        Assert.Equal(50, Max("Host=db;Database=treepo;Maximum Pool Size=50", 4));
        Assert.Equal(7, Max("Host=db;Database=treepo;MaxPoolSize=7", 4));
    }
}
