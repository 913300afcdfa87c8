using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Hosting;
using TreePO.Hosting.Options;

namespace TreePO.Hosting;

/// <summary>Wires an external client (`treepo rollout --cluster`) to a TreePO cluster.</summary>
public static class TreePOClientBuilderExtensions
{
    public static IClientBuilder AddTreePO(this IClientBuilder client, TreePOOptions options)
    {
        var c = options.Cluster;
        switch (c.Clustering.ToLowerInvariant())
        {
            case "localhost":
                client.UseLocalhostClustering(c.GatewayPort, c.ServiceId, c.ClusterId);
                break;
            default:
                throw new TreePOOptionsException([$"{TreePOOptions.Section}:Cluster:Clustering: '{c.Clustering}' is not supported"]);
        }
        client.Services.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = c.ResponseTimeout);
        return client;
    }
}
