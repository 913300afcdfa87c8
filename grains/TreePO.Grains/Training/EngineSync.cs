using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using TreePO.Grains.Engines;
using TreePO.Grains.Routing;
using TreePO.Grains.Resilience;

namespace TreePO.Grains.Training;

/// <summary>
/// Makes every engine of the cluster pull a trainer's version. An engine whose silo dies during the sync is asked
/// again until the membership drops it (its trees are asked again elsewhere). An engine that keeps failing (a broken
/// stream already falls back to chunks inside the pull; this is what is left) is retried a few times, then left
/// behind with a warning: it still holds its old weights, refuses requests for the new version's trees until it
/// catches up, and catches up by itself when a tree asks it for the new version (<see cref="EngineGrain"/>). Only
/// when no engine at all holds the version does the sync, and with it the run, fail.
/// </summary>
public sealed class EngineSync(EngineDirectory directory, IGrainFactory grains, ILogger log, WeightFanout? fanout = null)
{
    /// <summary>Tries at a failing engine before it is left behind (<see cref="RetryPolicy.FailingEngine"/>).</summary>
    public static int FailingEngineAttempts => RetryPolicy.FailingEngine.Attempts;

    /// <summary>Every engine of the directory pulls the version, directly or down the fan-out tree (Cluster:WeightFanout).</summary>
    public Task SyncAllAsync(string trainer, int version, bool force, CancellationToken ct)
    {
        var engines = directory.GetEngines().OrderBy(e => e.Key, StringComparer.Ordinal).ToList();   // the same tree for the same cluster
        var sync = Planned(engines, fanout ?? new WeightFanout(), $"{trainer}/{version}/{Guid.NewGuid():N}", (e, plan) => plan is null
            ? grains.GetGrain<IEngineGrain>(e.Key).SyncWeightsAsync(trainer, version, force, ct)
            : HeldAfter(grains.GetGrain<IEngineGrain>(e.Key).SyncWeightsWithReportAsync(trainer, version, new WeightSyncOptions(force, Relay: plan), ct)));
        return SyncAllAsync(engines, sync, directory.IsActive, $"{trainer} version {version}", version, log, RetryPolicy.TreeAsk, ct);
    }

    static async Task<int> HeldAfter(Task<WeightSyncReport> sync) => (await sync).Version;

    /// <summary>Each engine's sync with its place in <paramref name="fanout"/>'s tree of round <paramref name="round"/>
    /// (null in direct mode) on its first try; a retry pulls from the trainer directly (its children fell back already).</summary>
    public static Func<EngineAddress, Task<int>> Planned(IReadOnlyList<EngineAddress> engines, WeightFanout fanout, string round,
        Func<EngineAddress, WeightRelayPlan?, Task<int>> sync)
    {
        var plans = fanout.Plan([.. engines.Select(e => e.Key)], round);
        var byKey = new Dictionary<string, WeightRelayPlan?>();
        for (int i = 0; i < engines.Count; i++) byKey[engines[i].Key] = plans[i];
        var tries = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        return e => sync(e, tries.AddOrUpdate(e.Key, 1, (_, n) => n + 1) == 1 ? byKey.GetValueOrDefault(e.Key) : null);
    }

    /// <summary>Syncs <paramref name="engines"/> with <paramref name="sync"/> (returns the version held after it);
    /// returns how many hold <paramref name="version"/> now. <paramref name="spacing"/> spaces the retries.</summary>
    public static async Task<int> SyncAllAsync(IReadOnlyList<EngineAddress> engines, Func<EngineAddress, Task<int>> sync,
        Func<SiloAddress, bool> isActive, string what, int version, ILogger log, RetryPolicy spacing, CancellationToken ct)
    {
        var outcomes = await Task.WhenAll(engines.Select(e => SyncOneAsync(e, sync, isActive, what, version, log, spacing, ct)));
        int synced = outcomes.Count(o => o.Synced);
        var failures = outcomes.Where(o => o.Error is not null).ToList();
        if (synced == 0 && failures.Count > 0)
            throw new InvalidOperationException(
                $"no engine could sync to {what}: {string.Join("; ", failures.Select(f => $"{f.Engine}: {f.Error!.Message}"))}", failures[0].Error);
        return synced;
    }

    static async Task<(string Engine, bool Synced, Exception? Error)> SyncOneAsync(EngineAddress address, Func<EngineAddress, Task<int>> sync,
        Func<SiloAddress, bool> isActive, string what, int version, ILogger log, RetryPolicy spacing, CancellationToken ct)
    {
        // A lost silo is asked again while it is a member (spacing's tries); any other failure FailingEngineAttempts
        // times in all. The tries are counted together and spaced as tree asks are.
        int failures = 0;
        var retry = spacing with
        {
            RetryOn = e => RetryPolicy.IsSiloLoss(e) ? isActive(address.Silo) : ++failures < FailingEngineAttempts,
        };
        try
        {
            await retry.RunAsync(async _ =>
            {
                int held = await sync(address);
                return held == version ? held : throw new InvalidOperationException($"engine {address.Key} holds version {held} after syncing to {version}");
            }, (e, _) =>
            {
                if (!RetryPolicy.IsSiloLoss(e)) log.LogWarning("engine {Engine} failed to sync to {What} ({Error}); trying again", address.Key, what, e.Message);
            }, ct);
            return (address.Key, true, null);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            if (RetryPolicy.IsSiloLoss(e) && !isActive(address.Silo))
            {
                log.LogWarning("engine {Engine} left the cluster during the sync to {What}", address.Key, what);
                return (address.Key, false, null);
            }
            return LeftBehind(address, e, what, log);
        }
    }

    static (string, bool, Exception?) LeftBehind(EngineAddress address, Exception e, string what, ILogger log)
    {
        log.LogWarning("engine {Engine} could not sync to {What} ({Error}); it stays on its old weights and catches up when a tree asks it",
            address.Key, what, e.Message);
        return (address.Key, false, e);
    }
}
