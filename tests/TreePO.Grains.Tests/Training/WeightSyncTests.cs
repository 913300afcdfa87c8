using Orleans.Runtime;
using TreePO.Core.Trees;
using TreePO.Grains.Engines;
using TreePO.Grains.Placement;
using TreePO.Grains.Tests.Support;
using TreePO.Grains.Training;
using TreePO.Grains.Trees;

namespace TreePO.Grains.Tests.Training;

public sealed class WeightSyncTests
{
    static readonly TreeConfig Config = new() { Width = 4, Depth = 2, SegmentLength = 3, Branch = 2 };

    static TreeJob Job(int i, int version) => TreeJob.For(
        new QueryItem($"q{i}", $"question {i}", "7", [.. Enumerable.Range(1, 4).Select(t => t + i)]), Config, (ulong)(10 + i), version);

    [Fact]
    public async Task Versions_are_ordered_and_engines_never_answer_a_step_with_other_weights()
    {
        var (cluster, factories) = await TestClusters.StartAsync(2);
        await using var _ = cluster;
        var client = cluster.Client;
        var trainer = client.GetGrain<ITrainerGrain>("sync");
        await trainer.InitializeAsync(new TrainerSetup(TinyModelFolder.Path, 0, new TrainerSettings(LearningRate: 1e-3, WarmupSteps: 0, MiniBatches: 1)));
        var engines = cluster.Silos.Select(s => client.GetGrain<IEngineGrain>(SiloKey.For(s.SiloAddress, 0))).ToList();
        Assert.All(await Task.WhenAll(engines.Select(e => e.SyncWeightsAsync("sync", 0, force: true))), v => Assert.Equal(0, v));

        string[] previous = [];
        for (int step = 1; step <= 2; step++)
        {
            int v = step - 1;
            var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
                client.GetGrain<IQueryTreeGrain>($"sync-s{step}/q{i}").RunAsync(Job(i, v))));
            string[] lines = [.. results.Select(r => r.TreeLine)];
            Assert.All(lines.Select(l => TreeJson.Read(l)), t =>
                Assert.All(t.Nodes.Where(n => !n.IsRoot), n => Assert.Equal(v, n.PolicyVersion)));
            if (previous.Length > 0)
            {
                // Trees of the last step carry the old version: the trainer refuses to mix them into this update.
                var stale = await Assert.ThrowsAnyAsync<Exception>(() => trainer.TrainAsync(previous, 1));
                Assert.Contains("the step is refused", stale.Message);
            }

            var report = await trainer.TrainAsync(lines, (ulong)step);
            Assert.Equal(step, report.Version);
            Assert.Equal(step, await trainer.GetVersionAsync());

            // Until the engines hold the new version, a tree of the next step is refused rather than answered by old weights.
            var early = await Assert.ThrowsAnyAsync<Exception>(() => client.GetGrain<IQueryTreeGrain>($"sync-early{step}/q").RunAsync(Job(0, step)));
            Assert.True(early.ToString().Contains($"expects policy version {step}"), early.ToString());

            Assert.All(await Task.WhenAll(engines.Select(e => e.SyncWeightsAsync("sync", step))), held => Assert.Equal(step, held));
            var late = await Assert.ThrowsAnyAsync<Exception>(() => client.GetGrain<IQueryTreeGrain>($"sync-late{step}/q").RunAsync(Job(0, v)));
            Assert.Contains($"expects policy version {v}", late.ToString());
            previous = lines;
        }

        // Each engine loaded 0, 1, 2 in order, each time exactly the bytes the trainer publishes for that version.
        byte[] published = await PublishedWeights.ReadAsync(trainer, 2);
        foreach (var engine in factories.Values.SelectMany(f => f.Created))
        {
            Assert.Equal([0, 1, 2], engine.Loads.Select(l => l.Version));
            Assert.Equal(published, engine.Loads[^1].Weights);
            Assert.Equal(0, engine.LiveNodes);
        }
        Assert.Equal(2, factories.Values.Sum(f => f.Created.Count));
        // A version the trainer no longer holds cannot be pulled.
        var gone = await Assert.ThrowsAnyAsync<Exception>(() => trainer.GetWeightManifestAsync(1));
        Assert.Contains("holds version 2, not 1", gone.Message);
    }
}
