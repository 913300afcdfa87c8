using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Messaging;

namespace TreePO.Hosting.Clustering.Postgres;

/// <summary>How a client finds gateways with postgres clustering: the proxy endpoints of the active silos in the
/// membership table, read again every <see cref="GatewayOptions.GatewayListRefreshPeriod"/>.</summary>
public sealed class PostgresGatewayListProvider(PostgresMembershipTable table, IOptions<GatewayOptions> gateway) : IGatewayListProvider
{
    public TimeSpan MaxStaleness => gateway.Value.GatewayListRefreshPeriod;

    public bool IsUpdatable => true;

    /// <summary>Nothing to prepare: a client never creates the schema (the silos do), it only reads.</summary>
    public Task InitializeGatewayListProvider() => Task.CompletedTask;

    public Task<IList<Uri>> GetGateways() => table.ReadGatewaysAsync();

    public Task InitializeGatewayListProviderAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<IList<Uri>> GetGatewaysAsync(CancellationToken cancellationToken) => table.ReadGatewaysAsync(cancellationToken);
}
