using Orleans.Core.Internal;
using TreePO.Core.Trees;
using TreePO.Grains.Tests.Support;
using TreePO.Grains.Training;
using TreePO.Testing;

namespace TreePO.Grains.Tests.Training;

/// <summary>One training run per cluster: a second run is refused naming the first; the lease frees when the first
/// ends, or when it stops renewing (its silo died).</summary>
public sealed class TrainingLeaseTests
{
    [Fact]
    public async Task A_lease_that_is_not_renewed_expires_and_the_same_run_may_always_renew_it()
    {
        var (cluster, _) = await TestClusters.StartAsync(1);
        await using var _c = cluster;
        var lease = cluster.Client.GetGrain<ITrainingLeaseGrain>(ITrainingLeaseGrain.Cluster);
        var ttl = TimeSpan.FromMilliseconds(300);
        Assert.Equal("a", (await lease.AcquireAsync("a", "silo-1", ttl)).RunId);
        var refused = await lease.AcquireAsync("b", "silo-2", ttl);
        Assert.Equal(("a", "silo-1"), (refused.RunId, refused.Silo));
        var renewed = await lease.AcquireAsync("a", "silo-3", ttl);   // resumed on another silo
        Assert.Equal(("a", "silo-3"), (renewed.RunId, renewed.Silo));
        // Run a stops renewing (its silo died): b gets the lease once it has expired.
        await Eventually.TrueAsync(async () => await lease.GetHolderAsync() is null, TimeSpan.FromSeconds(10), "the lease expires");
        Assert.Equal("b", (await lease.AcquireAsync("b", "silo-2", ttl)).RunId);
        await lease.ReleaseAsync("a");   // not the holder: changes nothing
        Assert.Equal("b", (await lease.GetHolderAsync())?.RunId);
        await lease.ReleaseAsync("b");
        Assert.Null(await lease.GetHolderAsync());
    }

    [Fact]
    public async Task The_lease_outlives_its_activation_a_second_run_is_still_refused_and_the_release_is_kept()
    {
        var (cluster, _) = await TestClusters.StartAsync(1);
        await using var _c = cluster;
        var lease = cluster.Client.GetGrain<ITrainingLeaseGrain>(ITrainingLeaseGrain.Cluster);
        var ttl = TimeSpan.FromMinutes(5);
        var taken = await lease.AcquireAsync("a", "silo-1", ttl);

        // The lease grain goes away (its silo stopped, or it was collected): the next activation reads the holder back.
        await lease.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        var refused = await lease.AcquireAsync("b", "silo-2", ttl);
        Assert.Equal(("a", "silo-1", taken.SinceUtc), (refused.RunId, refused.Silo, refused.SinceUtc));

        await lease.ReleaseAsync("a");
        await lease.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        Assert.Null(await lease.GetHolderAsync());   // the release was stored too
        Assert.Equal("b", (await lease.AcquireAsync("b", "silo-2", ttl)).RunId);
    }

    [Fact]
    public async Task A_second_training_run_is_refused_naming_the_first_and_may_start_once_the_first_ends()
    {
        await using var cluster = await TrainingClusters.StartAsync();
        var first = cluster.Client.GetGrain<IRunGrain>("first");
        await first.StartAsync(Spec("first", 50), resume: false);
        var second = cluster.Client.GetGrain<IRunGrain>("second");
        var e = await Assert.ThrowsAnyAsync<Exception>(() => second.StartAsync(Spec("second", 1), resume: false));
        Assert.Contains("already training run 'first'", e.Message);
        Assert.Equal(RunPhase.Failed, (await second.GetStatusAsync()).Phase);
        Assert.NotEqual(RunPhase.Failed, (await first.GetStatusAsync()).Phase);

        await first.CancelAsync();
        await Eventually.TrueAsync(async () => (await first.GetStatusAsync()).Done, TimeSpan.FromMinutes(2), "the first run stops", pollMs: 100);
        Assert.Null(await cluster.Client.GetGrain<ITrainingLeaseGrain>(ITrainingLeaseGrain.Cluster).GetHolderAsync());
        await second.StartAsync(Spec("second", 1), resume: false);
        await Eventually.TrueAsync(async () => (await second.GetStatusAsync()).Done, TimeSpan.FromMinutes(2), "the second run ends", pollMs: 100);
        var done = await second.GetStatusAsync();
        Assert.True(done.Phase == RunPhase.Finished, done.Error);
    }

    static RunSpec Spec(string runId, int steps) => new(
        runId, TreePO.Testing.ScratchFolders.Create("treepo-lease-").FullName, TinyModelFolder.Path, null, null, TaskLevel: 1, Steps: steps,
        QueriesPerStep: 2, MaxExtraRounds: 0,
        TreeConfigJson: System.Text.Json.JsonSerializer.Serialize(new TreeConfig { Width = 2, Depth = 1, SegmentLength = 4, Branch = 2 }, TreeJson.Options),
        Trainer: new TrainerSettings(LearningRate: 1e-3, WarmupSteps: 1, MiniBatches: 1),
        EvalEvery: 0, EvalQueries: 2, EvalK: 1, EvalTemperature: 1f, EvalMaxTokens: 4, CheckpointEvery: 0, Seed: 5);
}
