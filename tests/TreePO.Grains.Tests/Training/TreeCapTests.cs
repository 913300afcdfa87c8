using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TreePO.Core.Trees;
using TreePO.Grains.Draining;
using TreePO.Grains.Tests.Support;
using TreePO.Grains.Training;
using TreePO.Testing;

namespace TreePO.Grains.Tests.Training;

/// <summary>A step with more queries than <see cref="RunGrain.MaxTreesInFlight"/> queues its trees in the run grain:
/// the silo never has more trees sampling at once than the cap, and every tree is still sampled.</summary>
public sealed class TreeCapTests
{
    [Fact]
    public async Task A_step_of_more_trees_than_the_cap_never_has_more_than_the_cap_in_flight()
    {
        const int queries = RunGrain.MaxTreesInFlight + 44;
        await using var cluster = await TrainingClusters.StartAsync();
        var run = cluster.Client.GetGrain<IRunGrain>("capped");
        var spec = new RunSpec("capped", TreePO.Testing.ScratchFolders.Create("treepo-cap-").FullName, TinyModelFolder.Path, null, null,
            TaskLevel: 1, Steps: 1, QueriesPerStep: queries, MaxExtraRounds: 0,
            TreeConfigJson: JsonSerializer.Serialize(new TreeConfig { Width = 2, Depth = 1, SegmentLength = 2, Branch = 2 }, TreeJson.Options),
            Trainer: new TrainerSettings(LearningRate: 1e-3, WarmupSteps: 1, MiniBatches: 1),
            EvalEvery: 0, EvalQueries: 2, EvalK: 1, EvalTemperature: 1f, EvalMaxTokens: 2, CheckpointEvery: 0, Seed: 7);
        await run.StartAsync(spec, resume: false);
        await Eventually.TrueAsync(async () => (await run.GetStatusAsync()).Done, TimeSpan.FromMinutes(3), "the run ends", pollMs: 200);
        var done = await run.GetStatusAsync();
        Assert.True(done.Phase == RunPhase.Finished, done.Error);
        var metrics = JsonDocument.Parse(done.LastMetrics!).RootElement;
        Assert.True(metrics.GetProperty("trajectories").GetInt32() >= queries, done.LastMetrics);   // every tree sampled

        int peak = cluster.Silos[0].ServiceProvider.GetRequiredService<TreesInFlight>().Peak;
        // At most the cap; and the cap was reached, so the queue is what held the rest back.
        Assert.InRange(peak, RunGrain.MaxTreesInFlight / 2, RunGrain.MaxTreesInFlight);
    }
}
