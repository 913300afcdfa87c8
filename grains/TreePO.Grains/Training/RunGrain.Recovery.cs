using System.Text.Json;
using Microsoft.Extensions.Logging;
using TreePO.Core.Training;

namespace TreePO.Grains.Training;

/// <summary>Run recovery without the client (<see cref="RunRecovery"/>): the run's record in the run storage and
/// its reminder, registered when the run starts training and unregistered when it ends.</summary>
public sealed partial class RunGrain : IRemindable
{
    /// <summary>A client starting again the very run (same spec) that its reminder (or another client) already
    /// restarted, from a checkpoint or from the start, follows it instead of being refused.</summary>
    bool AlreadyRunning(RunSpec runSpec) => runSpec == spec
        && phase is not (RunPhase.Created or RunPhase.Finished or RunPhase.Failed or RunPhase.Cancelled or RunPhase.Drained);

    /// <summary>A start succeeded: the run's spec is recorded as active and its reminder registered. Failing that, the
    /// run still trains, with a warning that only its client can resume it.</summary>
    async Task RecoveryStartedAsync(RunSpec started)
    {
        if (!recovery.Enabled) return;
        try
        {
            var r = stored.State;
            (r.SpecJson, r.Active, r.CheckpointedStep, r.FailedRecoveries) = (JsonSerializer.Serialize(started), true, checkpointedStep, 0);
            await stored.WriteStateAsync();
            await this.RegisterOrUpdateReminder(RunRecovery.ReminderName, recovery.Period, recovery.Period);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogWarning(e, "run {Run}: recovery without the client is off", started.RunId);
            Warn([$"run recovery is off for this run ({e.GetBaseException().Message.Split('\n')[0]}): if its silo dies, only its client resumes it"]);
        }
    }

    /// <summary>The step a recovery resumes from, kept beside the spec.</summary>
    async Task RecoveryCheckpointedAsync(int atStep)
    {
        if (!recovery.Enabled || !stored.State.Active) return;
        stored.State.CheckpointedStep = atStep;
        try { await stored.WriteStateAsync(); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogWarning(e, "run {Run}: recording its checkpoint of step {Step} in the run storage", spec!.RunId, atStep);
        }
    }

    /// <summary>The run finished, failed or was cancelled here: nothing to recover any more. A drained run stays active:
    /// its next tick lands on another silo and resumes it there.</summary>
    async Task RecoveryEndedAsync(RunPhase outcome)
    {
        if (!recovery.Enabled || outcome == RunPhase.Drained) return;
        try
        {
            if (stored.State.Active)
            {
                stored.State.Active = false;
                await stored.WriteStateAsync();
            }
            await UnregisterRecoveryAsync();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The next tick finds the loop ended on this activation and tries again.
            log.LogWarning(e, "run {Run} ended ({Outcome}): unregistering its recovery reminder", spec?.RunId, outcome);
        }
    }

    /// <summary>The run's record as a status shows it; null where runs do not recover without their client, or before
    /// the run's first start.</summary>
    RunRecordView? RecordView()
    {
        if (!recovery.Enabled || stored.State.SpecJson is null) return null;
        var r = stored.State;
        return new RunRecordView(r.Active, r.CheckpointedStep, r.Recoveries, spec?.Steps ?? StoredSpec(r)?.Steps ?? 0);
    }

    RunSpec? StoredSpec(RunRecord r)
    {
        try { return r.SpecJson is null ? null : JsonSerializer.Deserialize<RunSpec>(r.SpecJson); }
        catch (JsonException e)
        {
            log.LogError(e, "run {Run}: its stored spec is not readable; it cannot be resumed without its client", this.GetPrimaryKeyString());
            return null;
        }
    }

    async Task UnregisterRecoveryAsync()
    {
        if (await this.GetReminder(RunRecovery.ReminderName) is { } reminder) await this.UnregisterReminder(reminder);
    }

    /// <summary>The reminder's tick. A run running here, starting, or drained (its silo is stopping) is left alone. A
    /// fresh activation of an active run means its silo died with it: it resumes from the run folder's latest
    /// checkpoint (from the start when none was written), whether or not a client is following it.</summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != RunRecovery.ReminderName) return;
        if (loop is { IsCompleted: true } && phase != RunPhase.Drained)
        {
            await RecoveryEndedAsync(phase);   // ended here, but its reminder outlived an earlier attempt to unregister
            return;
        }
        if (loop is { IsCompleted: false } || phase is not (RunPhase.Created or RunPhase.Failed)) return;
        var r = stored.State;
        if (!recovery.Enabled || !r.Active || StoredSpec(r) is not { } lost)
        {
            await UnregisterRecoveryAsync();
            return;
        }
        string? latest = await Task.Run(() => RunState.Latest(lost.RunDir, problem => log.LogWarning("{Problem}", problem)));   // file reads: off the scheduler
        log.LogWarning("run {Run} lost its silo (last checkpoint: step {Step}); its reminder resumes it here from {From}", lost.RunId,
            r.CheckpointedStep, latest ?? "the start (no checkpoint yet)");
        try
        {
            await StartAsync(lost, resume: latest is not null);
            r.Recoveries++;
            Warn([$"resumed without its client from {latest ?? "the start"} (its previous silo was lost; recovery {r.Recoveries})"]);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            r.FailedRecoveries++;
            bool giveUp = r.FailedRecoveries >= RunRecovery.MaxFailedRecoveries;
            log.LogError(e, "run {Run}: recovery {Failed} of {Max} failed{GiveUp}", lost.RunId, r.FailedRecoveries, RunRecovery.MaxFailedRecoveries,
                giveUp ? "; the run is given up (resume it with treepo train --resume)" : "; tried again at the next tick");
            if (giveUp) r.Active = false;
        }
        await stored.WriteStateAsync();
        if (!r.Active) await UnregisterRecoveryAsync();
    }
}
