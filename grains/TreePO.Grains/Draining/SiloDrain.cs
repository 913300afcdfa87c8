using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using TreePO.Grains.Training;

namespace TreePO.Grains.Draining;

/// <summary>
/// The graceful part of a silo's stop (SIGTERM, Ctrl+C), before Orleans deactivates its grains. It runs with the
/// membership agent's step that marks the silo ShuttingDown: from then on other silos place no new trees here and
/// this silo refuses new activations (Orleans' own rules), so callers ask another silo. Meanwhile this waits, up to
/// <paramref name="budget"/>, for the trees already here to finish and be collected by their callers
/// (<see cref="TreesInFlight"/>), and asks every run whose loop lives here to checkpoint its last finished step and
/// stop (<see cref="IRunGrain.DrainAsync"/>), so its client resumes it on another silo from that step. Trees still
/// running at the budget's end resume elsewhere from their last stored round, like those of a killed silo. An
/// ungraceful stop (the graceful share of Cluster:ShutdownTimeout spent) skips all of this.
/// </summary>
public sealed class SiloDrain(TreesInFlight trees, LocalRuns runs, IGrainFactory grains, ISiloStatusOracle status, TimeSpan budget,
    ILogger<SiloDrain> log) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>How long the drain waits for the membership table to show this silo ShuttingDown before it counts
    /// trees: a tree placed here just before that would otherwise be missed.</summary>
    static readonly TimeSpan LeaveWait = TimeSpan.FromSeconds(5);

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SiloDrain), ServiceLifecycleStage.BecomeActive, _ => Task.CompletedTask, ct => Task.Run(() => DrainAsync(ct)));

    async Task DrainAsync(CancellationToken stopping)
    {
        if (stopping.IsCancellationRequested) return;   // an ungraceful stop: no time to drain
        var clock = Stopwatch.StartNew();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        limit.CancelAfter(budget);
        var runIds = runs.Ids;
        // The last silo of a cluster has nobody to hand trees to: they end with it (an embedded silo whose command
        // was cancelled does not wait for trees nobody collects). Its runs still checkpoint.
        bool alone = !status.GetApproximateSiloStatuses(onlyActive: true).Keys.Any(s => !s.Equals(status.SiloAddress));
        log.LogInformation("draining: {Trees} tree(s) in flight and {Runs} run(s) on this silo; no new trees are placed here " +
            "(up to {Budget:F0} s{Alone})", trees.Count, runIds.Count, budget.TotalSeconds, alone ? "; the last silo: trees are not waited for" : "");
        var runsDrained = Task.WhenAll(runIds.Select(DrainRunAsync));
        try
        {
            while (status.CurrentStatus == SiloStatus.Active && clock.Elapsed < LeaveWait) await Task.Delay(50, limit.Token);
            if (!alone) await trees.WhenNoneAsync(limit.Token);
            await runsDrained.WaitAsync(limit.Token);
            log.LogInformation("drained in {Seconds:F1} s: {What}", clock.Elapsed.TotalSeconds,
                alone ? "its runs stopped" : "every tree here finished and was collected");
        }
        catch (OperationCanceledException)
        {
            log.LogWarning("drain stopped after {Seconds:F1} s with {Trees} tree(s) unfinished: they resume elsewhere from their last round",
                clock.Elapsed.TotalSeconds, trees.Count);
        }
    }

    async Task DrainRunAsync(string runId)
    {
        try
        {
            string outcome = await grains.GetGrain<IRunGrain>(runId).DrainAsync();
            log.LogInformation("run {Run}: {Outcome}", runId, outcome);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "run {Run} did not drain", runId);
        }
    }
}
