using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using TreePO.Grains.Engines;
using TreePO.Grains.Routing;
using TreePO.Hosting;
using TreePO.Hosting.Options;

namespace TreePO.Grains.Tests.Support;

/// <summary>Test clusters whose silos run <see cref="ScriptedEngine"/>s, one factory per silo so tests can look inside.</summary>
public static class TestClusters
{
    public static async Task<(InProcessTestCluster Cluster, Dictionary<string, ScriptedEngineFactory> Factories)> StartAsync(
        int silos, Action<TreePOOptions>? configure = null, Func<ScriptedEngine>? make = null)
    {
        var factories = new Dictionary<string, ScriptedEngineFactory>();
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.ConfigureSilo((siloOptions, silo) =>
        {
            var options = new TreePOOptions();
            options.Routing.SegmentTimeout = TimeSpan.FromSeconds(20);
            configure?.Invoke(options);
            var factory = new ScriptedEngineFactory { Make = make ?? (() => new ScriptedEngine()) };
            lock (factories) factories[siloOptions.SiloName] = factory;
            silo.AddTreePO(options);
            silo.Services.AddSingleton<IEngineBackendFactory>(factory);
            silo.Services.AddSingleton(new TreePO.Grains.Trees.TreeText(new LetterDecoder(), new HashSet<int> { ScriptedEngine.Eos }));
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        // A silo learns another's engines from its metadata, which arrives shortly after it joins: a test that starts
        // trees at once could find only its own silo's engine (a routing test failed so in CI).
        foreach (var silo in cluster.Silos)
        {
            var directory = silo.ServiceProvider.GetRequiredService<EngineDirectory>();
            await TreePO.Testing.Eventually.TrueAsync(() => directory.GetEngines().Select(e => e.Silo).Distinct().Count() == silos,
                TimeSpan.FromSeconds(30), $"silo {silo.Name} sees an engine on each of the {silos} silos");
        }
        return (cluster, factories);
    }
}

/// <summary>Token t as one letter; EOS as nothing.</summary>
public sealed class LetterDecoder : TreePO.Core.Trees.ITextDecoder
{
    public string Decode(IReadOnlyList<int> tokens) =>
        string.Concat(tokens.Where(t => t != ScriptedEngine.Eos).Select(t => (char)('a' + t % 26)));
}
