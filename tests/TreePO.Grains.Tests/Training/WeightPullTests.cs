using TreePO.Grains.WeightStream;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using TreePO.Core.Protocol;
using TreePO.Core.Trees;
using TreePO.Engine.Checkpoint;
using TreePO.Grains.Engines;
using TreePO.Grains.Placement;
using TreePO.Grains.Tests.Support;
using TreePO.Grains.Training;
using TreePO.Grains.Trees;
using TreePO.Hosting;
using TreePO.Hosting.Options;

namespace TreePO.Grains.Tests.Training;

/// <summary>The chunked weight pull: manifest, pipelined chunk pulls into the engine's sink, swap.</summary>
public sealed class WeightPullTests
{
    static readonly TrainerSettings Small = new(LearningRate: 1e-3, WarmupSteps: 0, MiniBatches: 1, WeightChunkBytes: 1000);

    [Fact]
    public async Task Pipelined_chunks_that_split_tensors_arrive_bit_exact_and_both_paths_agree()
    {
        var (cluster, factories) = await TestClusters.StartAsync(1);
        await using var _ = cluster;
        var trainer = cluster.Client.GetGrain<ITrainerGrain>("pull");
        await trainer.InitializeAsync(new TrainerSetup(TinyModelFolder.Path, 0, Small));
        var engine = cluster.Client.GetGrain<IEngineGrain>(SiloKey.For(cluster.Silos[0].SiloAddress, 0));
        var manifest = await trainer.GetWeightManifestAsync(0);
        Assert.Equal(1000, manifest.ChunkBytes);
        Assert.Equal((manifest.TotalBytes + 999) / 1000, manifest.ChunkCount);

        var report = await engine.SyncWeightsWithReportAsync("pull", 0, new WeightSyncOptions(Force: true, Path: WeightSyncOptions.Chunks, Window: 8));
        Assert.Equal((0, WeightSyncOptions.Chunks, manifest.TotalBytes, manifest.ChunkCount, false),
            (report.Version, report.Path, report.Bytes, report.Chunks, report.Skipped));
        var socket = await engine.SyncWeightsWithReportAsync("pull", 0, new WeightSyncOptions(Force: true, Path: WeightSyncOptions.Socket));
        Assert.Equal((0, WeightSyncOptions.Socket, manifest.TotalBytes), (socket.Version, socket.Path, socket.Bytes));
        // auto, with the trainer in the engine's own silo: a memory copy from the trainer's snapshot, no socket.
        var local = await engine.SyncWeightsWithReportAsync("pull", 0, new WeightSyncOptions(Force: true));
        Assert.Equal((0, WeightSyncOptions.Local, manifest.TotalBytes), (local.Version, local.Path, local.Bytes));
        var skipped = await engine.SyncWeightsWithReportAsync("pull", 0, new WeightSyncOptions());
        Assert.True(skipped.Skipped);

        byte[] published = await PublishedWeights.ReadAsync(trainer, 0);
        var loads = factories.Values.Single().Created.Single().Loads;
        Assert.Equal(3, loads.Count);
        Assert.All(loads, l => Assert.Equal(published, l.Weights));
        await Assert.ThrowsAnyAsync<Exception>(() => engine.SyncWeightsWithReportAsync("pull", 0, new WeightSyncOptions(true, "carrier-pigeon")));
        var badIndex = await Assert.ThrowsAnyAsync<Exception>(() => trainer.GetWeightChunkAsync(0, manifest.ChunkCount));
        Assert.Contains($"has {manifest.ChunkCount} chunks", badIndex.Message);
    }

    [Fact]
    public async Task A_version_change_during_a_pull_fails_it_and_the_engine_keeps_its_old_weights()
    {
        var gate = new PullGate();
        var cluster = await StartGatedAsync(gate);
        await using var _ = cluster;
        var client = cluster.Client;
        var trainer = client.GetGrain<ITrainerGrain>("moving");
        await trainer.InitializeAsync(new TrainerSetup(TinyModelFolder.Path, 0, Small));
        var engine = client.GetGrain<IEngineGrain>(SiloKey.For(cluster.Silos[0].SiloAddress, 0));
        Assert.Equal(0, await engine.SyncWeightsAsync("moving", 0, force: true));
        byte[] v0 = await PublishedWeights.ReadAsync(trainer, 0);

        // A step's trees at version 0, trained into version 1 while a (forced) pull of version 0 is paused mid-way.
        var config = new TreeConfig { Width = 4, Depth = 2, SegmentLength = 3, Branch = 2 };
        var tree = await client.GetGrain<IQueryTreeGrain>("moving/q0").RunAsync(
            TreeJob.For(new QueryItem("q0", "question", "7", [1, 2, 3, 4]), config, 10, 0));
        gate.Arm(pauseAfter: 3);
        var pull = engine.SyncWeightsWithReportAsync("moving", 0, new WeightSyncOptions(Force: true, Path: WeightSyncOptions.Chunks, Window: 1));
        await gate.Paused.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, (await trainer.TrainAsync([tree.TreeLine], 1)).Version);
        gate.Release();
        var failed = await Assert.ThrowsAnyAsync<Exception>(() => pull);
        Assert.Contains("holds version 1, not 0", failed.ToString());

        var inner = gate.Engines.Single();
        Assert.Equal(0, inner.PolicyVersion);
        Assert.Equal(v0, inner.Loads[^1].Weights);
        Assert.Single(inner.Loads);

        Assert.Equal(1, await engine.SyncWeightsAsync("moving", 1));
        Assert.Equal(await PublishedWeights.ReadAsync(trainer, 1), inner.Loads[^1].Weights);
    }

    [Fact]
    public async Task A_socket_pull_reads_the_offered_version_even_if_the_trainer_moves_on_and_a_token_works_once()
    {
        var gate = new PullGate();
        var cluster = await StartGatedAsync(gate);
        await using var _ = cluster;
        var client = cluster.Client;
        var trainer = client.GetGrain<ITrainerGrain>("socket");
        await trainer.InitializeAsync(new TrainerSetup(TinyModelFolder.Path, 0, Small));
        var engine = client.GetGrain<IEngineGrain>(SiloKey.For(cluster.Silos[0].SiloAddress, 0));
        byte[] v0 = await PublishedWeights.ReadAsync(trainer, 0);

        var config = new TreeConfig { Width = 4, Depth = 2, SegmentLength = 3, Branch = 2 };
        var tree = await client.GetGrain<IQueryTreeGrain>("socket/q0").RunAsync(
            TreeJob.For(new QueryItem("q0", "question", "7", [1, 2, 3, 4]), config, 10, 0));
        gate.Arm(pauseAfter: 1);
        var pull = engine.SyncWeightsWithReportAsync("socket", 0, new WeightSyncOptions(Force: true, Path: WeightSyncOptions.Socket));
        await gate.Paused.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, (await trainer.TrainAsync([tree.TreeLine], 1)).Version);
        gate.Release();
        // The offer pinned version 0's snapshot: the stream delivers exactly those bytes.
        var report = await pull;
        Assert.Equal((0, WeightSyncOptions.Socket), (report.Version, report.Path));
        Assert.Equal(v0, gate.Engines.Single().Loads[^1].Weights);
        Assert.NotEqual(v0, await PublishedWeights.ReadAsync(trainer, 1));

        // An offer for a version the trainer no longer holds is refused; a token works once.
        Assert.Contains("holds version 1, not 0", (await Assert.ThrowsAnyAsync<Exception>(() => trainer.OfferWeightStreamAsync(0))).Message);
        var offer = (await trainer.OfferWeightStreamAsync(1))!;
        var manifest = await trainer.GetWeightManifestAsync(1);
        using (var first = new BufferedWeightSink(1, manifest.Header, manifest.TotalBytes))
        {
            await WeightStreamClient.RunAsync(offer, manifest, first, null, CancellationToken.None);
            Assert.Equal(await PublishedWeights.ReadAsync(trainer, 1), first.OpenRead().ToArray());
        }
        using var again = new BufferedWeightSink(1, manifest.Header, manifest.TotalBytes);
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => WeightStreamClient.RunAsync(offer, manifest, again, null, CancellationToken.None));
        Assert.Contains("refused the token", refused.Message);
        Assert.Equal(0, again.ReceivedBytes);
    }

    [Fact]
    public async Task Under_tls_auto_streams_through_tls_with_the_cluster_certificate()
    {
        var (cluster, factories) = await TestClusters.StartAsync(1, o => o.Cluster.Tls = TestCertificates.Options(TestCertificates.SelfSigned("treepo-cluster")));
        await using var _ = cluster;
        var silo = (InProcessSiloHandle)cluster.Silos[0];
        Assert.NotNull(silo.SiloHost.Services.GetRequiredService<WeightStreamServer>().Tls);
        var trainer = cluster.Client.GetGrain<ITrainerGrain>("tls");
        await trainer.InitializeAsync(new TrainerSetup(TinyModelFolder.Path, 0, Small));
        var engine = cluster.Client.GetGrain<IEngineGrain>(SiloKey.For(cluster.Silos[0].SiloAddress, 0));
        var report = await engine.SyncWeightsWithReportAsync("tls", 0, new WeightSyncOptions(Force: true, AllowLocal: false));   // as from another silo
        Assert.Equal((WeightSyncOptions.Socket, 1), (report.Path, report.Chunks));
        Assert.Equal(await PublishedWeights.ReadAsync(trainer, 0), factories.Values.Single().Created.Single().Loads[^1].Weights);
    }

    [Fact]
    public async Task A_failed_tls_handshake_falls_back_to_chunks_under_auto_and_fails_clearly_when_asked_for_the_socket()
    {
        // A server (and engine) whose certificate check trusts no one: every handshake fails, in both directions.
        var gate = new PullGate();
        var cluster = await StartGatedAsync(gate, tls: new WeightStreamTls(TestCertificates.SelfSigned("treepo-cluster"), _ => false));
        await using var _ = cluster;
        var trainer = cluster.Client.GetGrain<ITrainerGrain>("distrust");
        await trainer.InitializeAsync(new TrainerSetup(TinyModelFolder.Path, 0, Small));
        var engine = cluster.Client.GetGrain<IEngineGrain>(SiloKey.For(cluster.Silos[0].SiloAddress, 0));
        var report = await engine.SyncWeightsWithReportAsync("distrust", 0, new WeightSyncOptions(Force: true, AllowLocal: false));
        Assert.Equal(WeightSyncOptions.Chunks, report.Path);
        Assert.Equal(await PublishedWeights.ReadAsync(trainer, 0), gate.Engines.Single().Loads[^1].Weights);
        var socket = await Assert.ThrowsAnyAsync<Exception>(() => engine.SyncWeightsWithReportAsync("distrust", 0, new WeightSyncOptions(Force: true, Path: WeightSyncOptions.Socket)));
        Assert.Contains("TLS handshake", socket.Message);
        Assert.Single(gate.Engines.Single().Loads);
    }

    [Fact]
    public async Task An_unreachable_stream_falls_back_to_chunks_under_auto_and_fails_when_asked_for()
    {
        // The server listens on 127.0.0.1 but tells engines to dial 127.0.0.2, where nothing listens: connection refused.
        var gate = new PullGate();
        var cluster = await StartGatedAsync(gate, unreachable: true);
        await using var _ = cluster;
        var trainer = cluster.Client.GetGrain<ITrainerGrain>("firewalled");
        await trainer.InitializeAsync(new TrainerSetup(TinyModelFolder.Path, 0, Small));
        var engine = cluster.Client.GetGrain<IEngineGrain>(SiloKey.For(cluster.Silos[0].SiloAddress, 0));
        Assert.NotNull(await trainer.OfferWeightStreamAsync(0));
        var report = await engine.SyncWeightsWithReportAsync("firewalled", 0, new WeightSyncOptions(Force: true, AllowLocal: false));
        Assert.Equal(WeightSyncOptions.Chunks, report.Path);
        Assert.Equal(await PublishedWeights.ReadAsync(trainer, 0), gate.Engines.Single().Loads[^1].Weights);
        await Assert.ThrowsAnyAsync<Exception>(() => engine.SyncWeightsWithReportAsync("firewalled", 0, new WeightSyncOptions(Force: true, Path: WeightSyncOptions.Socket)));
        Assert.Single(gate.Engines.Single().Loads);
    }

    [Theory]
    [InlineData(false)]   // a peer that accepts and never answers
    [InlineData(true)]    // the connection cut half way through the weights
    public async Task A_stream_that_goes_silent_or_is_cut_mid_way_falls_back_to_chunks_and_the_sync_succeeds(bool cut)
    {
        // The engine dials 127.0.0.2:P (what the server advertises), where the faulty peer listens; the real server
        // listens on 127.0.0.1:P, and the cutting peer relays to it.
        var alias = System.Net.IPAddress.Parse("127.0.0.2");
        WeightStreamServer? real = null;
        using var peer = cut
            ? FaultyStreamPeer.Cutting(alias, () => new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, real!.Endpoint!.Port), cutAfter: 5000)
            : FaultyStreamPeer.Silent(alias);
        var gate = new PullGate();
        var cluster = await StartGatedAsync(gate, server: sp => real = new WeightStreamServer(System.Net.IPAddress.Loopback, alias, true,
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<WeightStreamServer>>(), port: peer.Port, stallTimeout: TimeSpan.FromSeconds(1)));
        await using var _ = cluster;
        var trainer = cluster.Client.GetGrain<ITrainerGrain>(cut ? "cut" : "silent");
        await trainer.InitializeAsync(new TrainerSetup(TinyModelFolder.Path, 0, Small));
        var engine = cluster.Client.GetGrain<IEngineGrain>(SiloKey.For(cluster.Silos[0].SiloAddress, 0));
        var report = await engine.SyncWeightsWithReportAsync(cut ? "cut" : "silent", 0, new WeightSyncOptions(Force: true, AllowLocal: false))
            .WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(1, peer.Accepted);
        Assert.Equal((0, WeightSyncOptions.Chunks), (report.Version, report.Path));
        Assert.Equal(await PublishedWeights.ReadAsync(trainer, 0), gate.Engines.Single().Loads[^1].Weights);
        // Asked for the socket alone, the same fault fails the sync (clearly, and in bounded time).
        await Assert.ThrowsAnyAsync<Exception>(() => engine.SyncWeightsWithReportAsync(cut ? "cut" : "silent", 0,
            new WeightSyncOptions(Force: true, Path: WeightSyncOptions.Socket)).WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Single(gate.Engines.Single().Loads);
    }

    static async Task<InProcessTestCluster> StartGatedAsync(PullGate gate, bool unreachable = false, WeightStreamTls? tls = null,
        Func<IServiceProvider, WeightStreamServer>? server = null)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            if (server is not null) silo.Services.AddSingleton(server);
            else if (unreachable || tls is not null)
                silo.Services.AddSingleton(sp => new WeightStreamServer(System.Net.IPAddress.Loopback,
                    unreachable ? System.Net.IPAddress.Parse("127.0.0.2") : System.Net.IPAddress.Loopback, true,
                    sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<WeightStreamServer>>(), tls: tls));
            silo.AddTreePO(new TreePOOptions());
            silo.Services.AddSingleton<IEngineBackendFactory>(gate);
            silo.Services.AddSingleton(new TreeText(new LetterDecoder(), new HashSet<int> { ScriptedEngine.Eos }));
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>Engines whose weight sinks, once armed, pause the pull after a few chunks until released.</summary>
    sealed class PullGate : IEngineBackendFactory
    {
        int countdown = -1;
        readonly ManualResetEventSlim open = new(true);
        public SemaphoreSlim Paused { get; } = new(0);
        public List<ScriptedEngine> Engines { get; } = [];

        public void Arm(int pauseAfter)
        {
            open.Reset();
            Volatile.Write(ref countdown, pauseAfter);
        }

        public void Release() => open.Set();

        void OnChunk()
        {
            if (Interlocked.Decrement(ref countdown) != 0) return;
            Paused.Release();
            open.Wait(TimeSpan.FromSeconds(30));   // holds the (test) engine grain's turn: the pull cannot go on
        }

        public Task<IEngineBackend> CreateAsync(int device, CancellationToken cancellationToken)
        {
            var inner = new ScriptedEngine();
            lock (Engines) Engines.Add(inner);
            return Task.FromResult<IEngineBackend>(new SinkEngine(inner, (v, header, total) => new GatedSink(v, header, total, this), sink => ((GatedSink)sink).OpenRead()));
        }

        sealed class GatedSink(int version, byte[] header, long totalBytes, PullGate gate) : WeightSink(version, header, totalBytes)
        {
            readonly byte[] file = new byte[totalBytes];

            protected override void Place(long offset, ReadOnlySpan<byte> bytes)
            {
                bytes.CopyTo(file.AsSpan((int)offset));
                gate.OnChunk();
            }

            public MemoryStream OpenRead()
            {
                EnsureComplete();
                return new MemoryStream(file, writable: false);
            }
        }
    }
}
