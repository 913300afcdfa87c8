using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using TreePO.Core.Reward;
using TreePO.Grains.Tests.Support;
using TreePO.Hosting;

namespace TreePO.Grains.Tests.Training;

/// <summary>A one-silo test cluster serving the random tiny model through AddTreePO's own wiring (real TorchSharp
/// engine, the model's tokenizer for prompts and text), with the <see cref="ParityReward"/>.</summary>
public static class TrainingClusters
{
    public static async Task<InProcessTestCluster> StartAsync()
    {
        var options = TinyModelFolder.Options();
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddTreePO(options);
            silo.Services.AddSingleton<IRewardFunction>(new ParityReward());
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }
}
