using System.Text.Json;
using Orleans.Core.Internal;
using TreePO.Core.Training;
using TreePO.Core.Trees;
using TreePO.Grains.Tests.Support;
using TreePO.Grains.Training;
using TreePO.Testing;

namespace TreePO.Grains.Tests.Training;

/// <summary>A run whose silo drains (<see cref="IRunGrain.DrainAsync"/>) stops mid-step, checkpoints its last finished
/// step although its spec writes no periodic checkpoints, keeps the cluster's training lease, and a new activation
/// resumes it from that checkpoint to the end with every step logged once.</summary>
public sealed class RunDrainTests
{
    [Fact]
    public async Task A_drained_run_checkpoints_its_last_step_keeps_the_lease_and_resumes_from_there()
    {
        string dir = TreePO.Testing.ScratchFolders.Create("treepo-drain-run-").FullName;
        var spec = new RunSpec("drained", dir, TinyModelFolder.Path, null, null, TaskLevel: 1, Steps: 3, QueriesPerStep: 16, MaxExtraRounds: 0,
            TreeConfigJson: JsonSerializer.Serialize(new TreeConfig { Width = 4, Depth = 3, SegmentLength = 4, Branch = 2 }, TreeJson.Options),
            Trainer: new TrainerSettings(LearningRate: 1e-3, WarmupSteps: 1, MiniBatches: 1),
            EvalEvery: 0, EvalQueries: 2, EvalK: 1, EvalTemperature: 1f, EvalMaxTokens: 4, CheckpointEvery: 0, Seed: 13);
        await using var cluster = await TrainingClusters.StartAsync();
        var run = cluster.Client.GetGrain<IRunGrain>("drained");
        await run.StartAsync(spec, resume: false);
        // Step 1 is logged and step 2 is sampling: the trainer is still at step 1.
        await Eventually.TrueAsync(async () => await run.GetStatusAsync() is { Step: 1, Phase: RunPhase.Sampling }, TimeSpan.FromMinutes(2),
            "step 2 samples", pollMs: 10);

        string said = await run.DrainAsync();
        var drained = await run.GetStatusAsync();
        Assert.True(drained.Phase == RunPhase.Drained, $"{drained.Phase}: {drained.Error}");
        Assert.Contains("stopped at step 1, checkpointed", said);
        Assert.True(File.Exists(Path.Combine(dir, "checkpoints", "step-1", RunState.FileName)), said);
        Assert.Equal("drained", (await cluster.Client.GetGrain<ITrainingLeaseGrain>(ITrainingLeaseGrain.Cluster).GetHolderAsync())?.RunId);

        // Its silo is gone (here: the activation); the client starts it again, from the drained checkpoint.
        await run.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        var resumed = await run.StartAsync(spec, resume: true);
        Assert.Equal(1, resumed.ResumedFromStep);
        await Eventually.TrueAsync(async () => (await run.GetStatusAsync()).Done, TimeSpan.FromMinutes(2), "the resumed run ends", pollMs: 100);
        var done = await run.GetStatusAsync();
        Assert.True(done.Phase == RunPhase.Finished, done.Error);
        var logged = File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt32());
        Assert.Equal([0, 1, 2, 3], logged);
    }
}
