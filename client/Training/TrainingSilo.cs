using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using TreePO.Engine;
using TreePO.Grains.Engines;
using TreePO.Grains.Training;
using TreePO.Hosting;

namespace TreePO.Client.Training;

/// <summary>The embedded silo of `treepo train`: one engine over the run's model (the TorchSharp engine), the
/// model's tokenizer for prompts, text and stop ids, and long enough timeouts for CPU steps.</summary>
public static class TrainingSilo
{
    public static Task<EmbeddedSilo> StartAsync(string modelDir, string? systemPrompt, long kvBudgetMB, CancellationToken cancellationToken)
    {
        var text = ModelText.Load(modelDir, systemPrompt);
        var engine = new EngineOptions
        {
            ModelPath = modelDir,
            KvBudgetBytes = kvBudgetMB << 20,
            EosTokenIds = [.. text.Text.EosIds],
        };
        return EmbeddedSilo.StartAsync(configure: silo =>
        {
            silo.Services.AddSingleton<IEngineBackendFactory>(new InferenceEngineBackendFactory(engine));
            silo.Services.AddSingleton(text.Text);
            silo.Services.AddSingleton<IPromptEncoder>(text);
            silo.Services.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(10));
        }, cancellationToken: cancellationToken);
    }
}
