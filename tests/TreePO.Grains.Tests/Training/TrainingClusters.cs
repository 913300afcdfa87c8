using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using TreePO.Core.Reward;
using TreePO.Engine;
using TreePO.Grains.Engines;
using TreePO.Grains.Training;
using TreePO.Hosting;
using TreePO.Hosting.Options;

namespace TreePO.Grains.Tests.Training;

/// <summary>A one-silo test cluster whose engine is the real TorchSharp engine over <see cref="TinyModel"/>, with the
/// model's tokenizer for prompts and text, and the <see cref="ParityReward"/>.</summary>
public static class TrainingClusters
{
    public static async Task<InProcessTestCluster> StartAsync()
    {
        string model = TinyModel.Dir;
        var text = ModelText.Load(model, systemPrompt: null);
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            var options = new TreePOOptions();
            options.Routing.SegmentTimeout = TimeSpan.FromSeconds(60);
            silo.AddTreePO(options);
            silo.Services.AddSingleton<IEngineBackendFactory>(new InferenceEngineBackendFactory(new EngineOptions
            {
                ModelPath = model, KvBudgetBytes = 64L << 20, MaxSlots = 32, PrefillChunk = 64, Threads = 1,
            }));
            silo.Services.AddSingleton(text.Text);
            silo.Services.AddSingleton<IPromptEncoder>(text);
            silo.Services.AddSingleton<IRewardFunction>(new ParityReward());
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }
}
