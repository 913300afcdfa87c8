using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.Messaging;
using Orleans.Runtime.Hosting;
using Orleans.Serialization.Serializers;
using Orleans.Storage;
using OrleansClusterOptions = Orleans.Configuration.ClusterOptions;

namespace TreePO.Hosting.Clustering.Postgres;

/// <summary>Registers the PostgreSQL membership table (silos) or gateway list (clients) for one Npgsql connection
/// string, and grain storage and reminders in the same database; the service and cluster ids come from Orleans' ClusterOptions.</summary>
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

    /// <summary>Grain storage <paramref name="name"/> in PostgreSQL, with the silo's grain storage serializer (the
    /// one registered for that name, else the default one).</summary>
    public static ISiloBuilder AddPostgresGrainStorage(this ISiloBuilder silo, string name, string connectionString) =>
        silo.ConfigureServices(services => services.AddGrainStorage(name, (sp, n) => new PostgresGrainStorage(connectionString,
            sp.GetRequiredService<IOptions<OrleansClusterOptions>>().Value.ServiceId,
            sp.GetKeyedService<IGrainStorageSerializer>(n) ?? sp.GetRequiredService<IGrainStorageSerializer>(),
            sp.GetRequiredService<IActivatorProvider>())));

    /// <summary>Orleans' reminder service with its table in the same database (<see cref="PostgresReminderTable"/>).</summary>
    public static ISiloBuilder UsePostgresReminderService(this ISiloBuilder silo, string connectionString) =>
        silo.AddReminders().ConfigureServices(services => services.AddSingleton<IReminderTable>(sp =>
            new PostgresReminderTable(connectionString, sp.GetRequiredService<IOptions<OrleansClusterOptions>>().Value.ServiceId)));

    static void AddTable(IServiceCollection services, string connectionString) =>
        services.AddSingleton(sp =>
        {
            var ids = sp.GetRequiredService<IOptions<OrleansClusterOptions>>().Value;
            return new PostgresMembershipTable(connectionString, ids.ServiceId, ids.ClusterId);
        });
}
