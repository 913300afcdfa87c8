using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.TestingHost;
using TreePO.Core.Protocol;
using TreePO.Engine.Checkpoint;
using TreePO.Grains.Engines;
using TreePO.Grains.Resilience;
using TreePO.Grains.Routing;
using TreePO.Grains.Tests.Support;
using TreePO.Grains.Training;
using TreePO.Grains.Trees;
using TreePO.Hosting;
using TreePO.Hosting.Options;

namespace TreePO.Grains.Tests.Training;

/// <summary>Cluster:WeightFanout=tree through the engine grains: engines that pass a version on while they receive
/// it, children that fall back to the trainer when their relay fails, real engines fed through relays.</summary>
public sealed class WeightFanoutTests
{
    static readonly RetryPolicy Quick = RetryPolicy.TreeAsk with { Delay = TimeSpan.FromMilliseconds(5) };
    static readonly TrainerSettings Small = new(LearningRate: 1e-3, WarmupSteps: 0, MiniBatches: 1, WeightChunkBytes: 1000);

    /// <summary>The tree fan-out of <paramref name="engines"/> in order, every sync forced; reports by engine key.</summary>
    static async Task<(int Synced, ConcurrentDictionary<string, WeightSyncReport> Reports)> FanOutAsync(IGrainFactory grains, string trainer, int version,
        IReadOnlyList<EngineAddress> engines, int degree)
    {
        var reports = new ConcurrentDictionary<string, WeightSyncReport>();
        var sync = EngineSync.Planned(engines, new WeightFanout(WeightFanout.Tree, degree), $"{trainer}/{version}/test", async (e, plan) =>
        {
            var r = await grains.GetGrain<IEngineGrain>(e.Key).SyncWeightsWithReportAsync(trainer, version, new WeightSyncOptions(Force: true, Relay: plan));
            reports[e.Key] = r;
            return r.Version;
        });
        int synced = await EngineSync.SyncAllAsync(engines, sync, _ => true, $"{trainer} version {version}", version, NullLogger.Instance, Quick, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(120));
        return (synced, reports);
    }

    [Fact]
    public async Task A_tree_of_degree_two_gives_seven_engines_across_two_silos_the_trainers_exact_bytes()
    {
        var (cluster, factories) = await TestClusters.StartAsync(2, o => o.Engine.Devices = "4");
        await using var _ = cluster;
        var trainer = cluster.Client.GetGrain<ITrainerGrain>("fan");
        await trainer.InitializeAsync(new TrainerSetup(TinyModelFolder.Path, 0, Small));
        var engines = cluster.Silos.SelectMany(s => Enumerable.Range(0, 4).Select(d => new EngineAddress(s.SiloAddress, d))).Take(7).ToList();

        var (synced, reports) = await FanOutAsync(cluster.Client, "fan", 0, engines, degree: 2);

        Assert.Equal(7, synced);
        // The trainer's silo served two engines; the other five read from the engine above them while it received.
        Assert.All(engines.Take(2), e => Assert.NotEqual(WeightSyncOptions.Relayed, reports[e.Key].Path));
        Assert.All(engines.Skip(2), e => Assert.Equal(WeightSyncOptions.Relayed, reports[e.Key].Path));
        byte[] published = await PublishedWeights.ReadAsync(trainer, 0);
        var loaded = factories.Values.SelectMany(f => f.Created).Where(e => e.Loads.Count > 0).ToList();
        Assert.Equal(7, loaded.Count);
        Assert.All(loaded, e => Assert.Equal(published, e.Loads[^1].Weights));
    }

    [Fact]
    public async Task When_a_relay_breaks_mid_stream_its_children_pull_from_the_trainer_and_end_on_the_version()
    {
        // One silo of 7 engines; engine 0 (the trainer's first child, relaying to engines 2 and 3) breaks 3000 bytes
        // into every pull.
        var factory = new BreakingFactory(brokenDevice: 0, breakAfter: 3000);
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            var options = new TreePOOptions();
            options.Engine.Devices = "7";
            silo.AddTreePO(options);
            silo.Services.AddSingleton<IEngineBackendFactory>(factory);
            silo.Services.AddSingleton(new TreeText(new LetterDecoder(), new HashSet<int> { ScriptedEngine.Eos }));
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        await using var _ = cluster;
        var trainer = cluster.Client.GetGrain<ITrainerGrain>("breaking");
        await trainer.InitializeAsync(new TrainerSetup(TinyModelFolder.Path, 0, Small));
        var silo = cluster.Silos[0].SiloAddress;
        var engines = Enumerable.Range(0, 7).Select(d => new EngineAddress(silo, d)).ToList();

        var (synced, reports) = await FanOutAsync(cluster.Client, "breaking", 0, engines, degree: 2);

        Assert.Equal(6, synced);   // the broken engine is left behind; nobody below it is
        Assert.False(reports.ContainsKey(engines[0].Key));
        Assert.Empty(factory.ByDevice[0].Loads);
        // Its children fell back to the trainer (in their own silo: a copy of its snapshot) ...
        Assert.Equal(WeightSyncOptions.Local, reports[engines[2].Key].Path);
        Assert.Equal(WeightSyncOptions.Local, reports[engines[3].Key].Path);
        // ... and engine 2's relay went on from where it was with the trainer's bytes: engine 6 never noticed.
        Assert.Equal(WeightSyncOptions.Relayed, reports[engines[6].Key].Path);
        byte[] published = await PublishedWeights.ReadAsync(trainer, 0);
        foreach (int d in Enumerable.Range(1, 6)) Assert.Equal(published, factory.ByDevice[d].Loads[^1].Weights);
        Assert.True(published.Length > 3000);
    }

    [Fact]
    public async Task The_option_makes_the_runs_engine_sync_a_tree()
    {
        // One silo, three engines, the trainer there too: direct, each would copy the trainer's snapshot in memory and
        // the silo's weight stream would send nothing; a chain sends the weights twice, engine to engine.
        var (cluster, factories) = await TestClusters.StartAsync(1, o =>
        {
            o.Engine.Devices = "3";
            o.Cluster.WeightFanout = "tree";
            o.Cluster.WeightFanoutDegree = 1;
        });
        await using var _ = cluster;
        var services = cluster.Silos[0].ServiceProvider;
        var fanout = services.GetRequiredService<WeightFanout>();
        Assert.Equal(new WeightFanout(WeightFanout.Tree, 1), fanout);
        var trainer = cluster.Client.GetGrain<ITrainerGrain>("wired");
        await trainer.InitializeAsync(new TrainerSetup(TinyModelFolder.Path, 0, Small));
        var directory = services.GetRequiredService<EngineDirectory>();
        await TreePO.Testing.Eventually.TrueAsync(() => directory.GetEngines().Count == 3, TimeSpan.FromSeconds(30), "the silo sees its three engines");
        var server = services.GetRequiredService<TreePO.Grains.WeightStream.WeightStreamServer>();
        long before = server.BytesSent;

        await new EngineSync(directory, services.GetRequiredService<IGrainFactory>(), NullLogger.Instance, fanout).SyncAllAsync("wired", 0, force: true, CancellationToken.None);

        byte[] published = await PublishedWeights.ReadAsync(trainer, 0);
        var engines = factories.Values.Single().Created;
        Assert.Equal(3, engines.Count);
        Assert.All(engines, e => Assert.Equal(published, e.Loads[^1].Weights));
        Assert.Equal(2L * published.Length, server.BytesSent - before);
    }

    [Theory]
    [InlineData("--cluster.weightfanout=tre", "Cluster:WeightFanout: 'tre' is not one of direct, tree")]
    [InlineData("--cluster.weightfanoutdegree=0", "Cluster:WeightFanoutDegree: must be in 1..64, got 0")]
    [InlineData("--cluster.weightfanot=tree", "Cluster:weightfanot: unknown key")]
    public void A_mistyped_fanout_option_is_refused_naming_the_key(string argument, string expected)
    {
        var e = Assert.Throws<TreePOOptionsException>(() => TreePOConfiguration.Load([argument]));
        Assert.Contains(expected, e.Message, StringComparison.OrdinalIgnoreCase);
        var good = TreePOConfiguration.Load(["--cluster.weightfanout=Tree", "--cluster.weightfanoutdegree=4"]);
        Assert.Equal(("Tree", 4), (good.Cluster.WeightFanout, good.Cluster.WeightFanoutDegree));
    }

    [Fact]
    public async Task Real_engines_fed_through_a_chain_of_relays_answer_exactly_as_the_engine_fed_by_the_trainer()
    {
        // The trainer publishes other random weights than the engines start with (same shapes), as version 5.
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-relay-model-").FullName;
        try
        {
            foreach (string f in Directory.GetFiles(TinyModelFolder.Path)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            TreePO.Engine.Native.TorchRuntime.EnsureLoaded();
            using (var model = Qwen2Checkpoint.Load(TinyModelFolder.Path)) Qwen2Checkpoint.WriteRandom(dir, model.Config, seed: 99);
            var options = TinyModelFolder.Options(o => o.Engine.Devices = "3");
            var cluster = await TinyModelFolder.ClusterAsync(1, options);
            await using var _ = cluster;
            var client = cluster.Client;
            var trainer = client.GetGrain<ITrainerGrain>("relay-real");
            await trainer.InitializeAsync(new TrainerSetup(dir, 5, new TrainerSettings(WeightChunkBytes: 4096)));
            var silo = cluster.Silos[0].SiloAddress;
            var engines = Enumerable.Range(0, 3).Select(d => new EngineAddress(silo, d)).ToList();
            SegmentRequest Probe(string id) =>
                new(id, $"{id}/p", 0, [1, 2, 3, 4, 5], [$"{id}/a"], 8, new SamplingParams(1, 1, -1), 7, -1);
            var before = await client.GetGrain<IEngineGrain>(engines[0].Key).GenerateAsync(Probe("before"), null, "test");

            var (synced, reports) = await FanOutAsync(client, "relay-real", 5, engines, degree: 1);   // a chain: trainer, 0, 1, 2

            Assert.Equal(3, synced);
            Assert.Equal([WeightSyncOptions.Local, WeightSyncOptions.Relayed, WeightSyncOptions.Relayed], engines.Select(e => reports[e.Key].Path));
            var after = await Task.WhenAll(engines.Select(e => client.GetGrain<IEngineGrain>(e.Key).GenerateAsync(Probe($"after{e.Device}"), null, "test")));
            Assert.All(after, r => Assert.Equal(5, r.PolicyVersion));
            foreach (var r in after.Skip(1))
            {
                Assert.Equal(after[0].Branches[0].Tokens, r.Branches[0].Tokens);
                Assert.Equal(after[0].Branches[0].LogProbs, r.Branches[0].LogProbs);
            }
            Assert.NotEqual(before.Branches[0].LogProbs, after[0].Branches[0].LogProbs);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Scripted engines, one of which fails every weight pull <c>breakAfter</c> bytes in.</summary>
    sealed class BreakingFactory(int brokenDevice, int breakAfter) : IEngineBackendFactory
    {
        public ConcurrentDictionary<int, ScriptedEngine> ByDevice { get; } = new();

        public Task<IEngineBackend> CreateAsync(int device, CancellationToken cancellationToken)
        {
            var inner = new ScriptedEngine();
            ByDevice[device] = inner;
            return Task.FromResult<IEngineBackend>(device != brokenDevice ? inner : new SinkEngine(inner,
                (version, header, total) => new BreakingSink(version, header, total, breakAfter),
                _ => throw new InvalidOperationException("a broken engine never completes a sink")));
        }

        sealed class BreakingSink(int version, byte[] header, long totalBytes, int breakAfter) : WeightSink(version, header, totalBytes)
        {
            long placed;

            protected override void Place(long offset, ReadOnlySpan<byte> bytes)
            {
                if (Interlocked.Add(ref placed, bytes.Length) > breakAfter) throw new IOException("this engine's staging memory failed");
            }
        }
    }
}
