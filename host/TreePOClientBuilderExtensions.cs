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
        Clustering.ClientClustering.Configure(client, options);
        client.Services.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = options.Cluster.ResponseTimeout);
        return client;
    }
}
