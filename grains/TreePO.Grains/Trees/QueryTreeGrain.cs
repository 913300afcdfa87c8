using System.Text.Json;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using TreePO.Core.Reward;
using TreePO.Core.Trees;
using TreePO.Grains.Draining;
using TreePO.Grains.Placement;
using TreePO.Grains.Routing;

namespace TreePO.Grains.Trees;

/// <summary>
/// Runs the core <see cref="TreeSampler"/> for one query with a segment generator that routes to engine
/// grains (<see cref="RoutedSegmentGenerator"/>: own engine kept for KV locality, failover with full context),
/// scores the leaves, releases every KV node it still holds, and returns the tree. After every round the sampler's
/// snapshot goes to grain storage (<see cref="TreeProgress"/>), so when this grain's silo dies and the caller asks
/// again, the new activation on another silo continues from the last finished round.
/// </summary>
[EngineSpreadPlacement]
public sealed class QueryTreeGrain(
    [PersistentState("progress", TreeProgress.StorageName)] IPersistentState<TreeProgress> progress,
    EngineRouter router, ILocalSiloDetails local, TreeText text, IRewardFunction reward,
    ILogger<QueryTreeGrain> log, TreesInFlight inFlight)
    : Grain, IQueryTreeGrain
{
    static int firstSnapshotLogged;
    Task<TreeResult>? run;   // this activation's current or last run, and its job key
    string? runKey;
    bool held;   // counted in TreesInFlight until the result reaches the caller: a draining silo waits for it

    public Task<TreeResult> RunAsync(TreeJob job, CancellationToken cancellationToken)
    {
        string key = TreeProgress.KeyOf(job);
        if (run is { IsCompleted: false } && runKey == key) return DeliverAsync(run);   // already running (started by a client)
        runKey = key;
        Hold();
        run = SampleAsync(job, key, cancellationToken);
        return DeliverAsync(run);
    }

    async Task<TreeResult> DeliverAsync(Task<TreeResult> sampling)
    {
        try { return await sampling; }
        finally { Deliver(); }
    }

    public Task StartAsync(TreeJob job)
    {
        string key = TreeProgress.KeyOf(job);
        if (run is not null && runKey == key && !run.IsFaulted && !run.IsCanceled) return Task.CompletedTask;
        runKey = key;
        Hold();
        run = SampleAsync(job, key, CancellationToken.None);
        _ = run.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);   // observed by PollAsync
        return Task.CompletedTask;
    }

    public async Task<TreePoll> PollAsync(TimeSpan wait)
    {
        if (run is null) return new TreePoll(TreePollState.NotStarted);
        if (!run.IsCompleted) await Task.WhenAny(run, Task.Delay(wait));
        if (!run.IsCompleted) return new TreePoll(TreePollState.Running);
        Deliver();
        return new TreePoll(TreePollState.Done, await run);
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        Deliver();   // nobody collects it from this activation any more
        return base.OnDeactivateAsync(reason, cancellationToken);
    }

    void Hold()
    {
        if (held) return;
        held = true;
        inFlight.Add();
    }

    void Deliver()
    {
        if (!held) return;
        held = false;
        inFlight.Remove();
    }

    async Task<TreeResult> SampleAsync(TreeJob job, string key, CancellationToken cancellationToken)
    {
        string treeId = this.GetPrimaryKeyString();

        var (resume, recovery) = Recover(key);
        progress.State = new TreeProgress { JobKey = key, Starts = recovery.Starts, Snapshot = resume is null ? null : TreeProgress.Write(resume) };
        await progress.WriteStateAsync(cancellationToken);   // the next activation knows this one started

        var generator = new RoutedSegmentGenerator(router, GrainFactory, treeId, job.WeightsFrom);
        var sampler = new TreeSampler(job.Config(), generator, text.Decoder, text.EosIds);   // bad config: ArgumentException
        SegmentTree? done = null;
        TreeMeters.TreeStarted();
        try
        {
            var tree = await sampler.RunAsync(job.Query, treeId, job.Seed, job.PolicyVersion, resume, async (snapshot, ct) =>
            {
                progress.State.Snapshot = TreeProgress.Write(snapshot);
                await progress.WriteStateAsync(ct);
                // Once a process: tells an operator (and the killed-silo test) that resumable progress is being kept.
                if (Interlocked.Exchange(ref firstSnapshotLogged, 1) == 0)
                    log.LogInformation("first tree snapshot stored ({Tree}, round {Round}): trees resume from their last round", treeId, snapshot.Round);
            }, cancellationToken);
            done = tree;
            tree.Score(reward, text.Decoder);
            var m = tree.Metrics;
            var result = new TreeResult(treeId, SiloKey.For(local.SiloAddress), TreeJson.Write(tree), m.Trajectories, m.Correct,
                m.GeneratedTokens, m.UniqueTokens, m.FallbackRatio, generator.Stats, recovery);
            await ForgetAsync();
            return result;
        }
        finally
        {
            TreeMeters.TreeEnded(done?.Stats.FallbackRequests ?? 0);
            await generator.CloseAsync();
        }
    }

    /// <summary>The stored snapshot of this job, if any, and what resuming from it saves and costs.</summary>
    (TreeSnapshot? Resume, TreeRecovery Recovery) Recover(string key)
    {
        var stored = progress.State;
        if (!progress.RecordExists || stored is null || stored.JobKey != key) return (null, TreeRecovery.FirstRun);
        int starts = stored.Starts + 1;
        TreeSnapshot? snapshot = null;
        try { snapshot = stored.ReadSnapshot(); }
        catch (JsonException e) { log.LogWarning(e, "tree {Tree}: stored snapshot unreadable; starting over", this.GetPrimaryKeyString()); }
        if (snapshot is null) return (null, new TreeRecovery(starts, 0, 0, FromScratch: true));
        log.LogInformation("tree {Tree}: resuming after round {Round} (start {Starts})", this.GetPrimaryKeyString(), snapshot.Round, starts);
        return (snapshot, new TreeRecovery(starts,
            ResumedSegments: snapshot.Nodes.Count(n => n.ParentId is not null),
            RecomputedSegments: snapshot.Pending.Sum(p => p.Branches),
            FromScratch: false));
    }

    /// <summary>A finished tree needs no snapshot; failing to delete one only leaves it to expire.</summary>
    async Task ForgetAsync()
    {
        try { await progress.ClearStateAsync(); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogWarning(e, "tree {Tree}: could not clear its stored snapshot", this.GetPrimaryKeyString());
        }
    }
}
