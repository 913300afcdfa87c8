using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Messaging;
using OrleansClusterOptions = Orleans.Configuration.ClusterOptions;

namespace TreePO.Hosting.Clustering.Postgres;

/// <summary>Registers the PostgreSQL membership table (silos) or gateway list (clients) for one Npgsql connection
/// string; the service and cluster ids come from Orleans' ClusterOptions.</summary>
public static class PostgresClustering
{
    public static ISiloBuilder UsePostgresClustering(this ISiloBuilder silo, string connectionString) =>
        silo.ConfigureServices(services =>
        {
            AddTable(services, connectionString);
            services.AddSingleton<IMembershipTable>(sp => sp.GetRequiredService<PostgresMembershipTable>());
        });

    public static IClientBuilder UsePostgresClustering(this IClientBuilder client, string connectionString) =>
        client.ConfigureServices(services =>
        {
            AddTable(services, connectionString);
            services.AddSingleton<IGatewayListProvider, PostgresGatewayListProvider>();
        });

    static void AddTable(IServiceCollection services, string connectionString) =>
        services.AddSingleton(sp =>
        {
            var ids = sp.GetRequiredService<IOptions<OrleansClusterOptions>>().Value;
            return new PostgresMembershipTable(connectionString, ids.ServiceId, ids.ClusterId);
        });
}
