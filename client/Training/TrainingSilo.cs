using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using TreePO.Hosting;
using TreePO.Hosting.Options;

namespace TreePO.Client.Training;

/// <summary>The embedded silo of `treepo train`: AddTreePO's wiring (one TorchSharp engine over the run's model, its
/// tokenizer for prompts, text and stop ids) with long enough timeouts for CPU steps.</summary>
public static class TrainingSilo
{
    public static TreePOOptions Options(string modelDir, string systemPrompt, long kvBudgetMB)
    {
        var options = new TreePOOptions();
        options.Model.Path = modelDir;
        options.Prompt.SystemPrompt = systemPrompt;
        options.Engine.KvBudgetMB = kvBudgetMB;
        return options;
    }

    public static Task<EmbeddedSilo> StartAsync(TreePOOptions options, CancellationToken cancellationToken) =>
        EmbeddedSilo.StartAsync(options, silo =>
            silo.Services.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(10)),
            cancellationToken: cancellationToken);
}
