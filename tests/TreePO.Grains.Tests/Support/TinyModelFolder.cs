using Orleans.TestingHost;
using TreePO.Hosting;
using TreePO.Hosting.Models;
using TreePO.Hosting.Options;

namespace TreePO.Grains.Tests.Support;

/// <summary>One random tiny model folder (trained BPE + tiny Qwen2, <see cref="RandomTinyModel"/>) per test run,
/// shared read-only by the tests that run the real InferenceEngine.</summary>
public static class TinyModelFolder
{
    static readonly Lazy<string> folder = new(() =>
        RandomTinyModel.Write(TreePO.Testing.ScratchFolders.Create("treepo-tiny-model-").FullName, seed: 3));

    public static string Path => folder.Value;

    /// <summary>Options for fast real-engine tests: a small tree, one torch thread per engine.</summary>
    public static TreePOOptions Options(Action<TreePOOptions>? configure = null)
    {
        var o = new TreePOOptions();
        o.Model.Path = Path;
        o.Engine.Threads = 1;
        o.Engine.KvBudgetMB = 64;
        o.Tree.Width = 4;
        o.Tree.Depth = 3;
        o.Tree.SegmentLength = 8;
        o.Tree.Branch = 2;
        o.Routing.SegmentTimeout = TimeSpan.FromSeconds(60);
        configure?.Invoke(o);
        return o;
    }

    public static ModelText Text(TreePOOptions options) => ModelText.Load(ModelFolder.Resolve(options.Model.Path), options);

    /// <summary>An in-process cluster whose silos serve the tiny model through AddTreePO's own wiring (nothing replaced).</summary>
    public static async Task<InProcessTestCluster> ClusterAsync(int silos, TreePOOptions options)
    {
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.ConfigureSilo((_, silo) => silo.AddTreePO(options));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }
}
