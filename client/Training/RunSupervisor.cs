using TreePO.Core.Training;
using TreePO.Grains.Training;
using TreePO.Grains.Resilience;

namespace TreePO.Client.Training;

/// <summary>
/// Follows a run grain from the client and keeps the run going when the silo it lives on dies. A client's call into
/// a killed silo is never answered, so every poll has its own timeout and a failed poll is simply sent again; once
/// the cluster has declared the silo dead, the next poll activates a new, empty run grain elsewhere (phase
/// <see cref="RunPhase.Created"/>), which is started again from the run folder's latest checkpoint (or from the
/// beginning when none was written yet). The cost of a lost trainer is the steps since that checkpoint. Polls and
/// restarts that fail are asked again by <see cref="RetryPolicy.RunPoll"/> (about 2 minutes before the cluster counts
/// as gone). On a redis or postgres cluster the run's recovery reminder may resume it first (RunRecovery): the
/// restart then finds it running and follows it.
/// </summary>
public sealed class RunSupervisor(IRunGrain run, RunSpec spec, Action<string> notice)
{
    public static readonly TimeSpan PollTimeout = TimeSpan.FromSeconds(10);

    public async Task<RunStatus> PollAsync(RunStatus last)
    {
        var status = await RetryPolicy.RunPoll.RunAsync(_ => run.GetStatusAsync().WaitAsync(PollTimeout), (e, failures) =>
        {
            if (failures == 1) notice($"no answer from the run on silo {last.Silo} ({e.GetBaseException().Message.Split('\n')[0]}); asking again");
        });
        if (status.Phase == RunPhase.Drained && last.Phase != RunPhase.Drained)
            notice($"the run's silo {status.Silo} is stopping: the run stopped there at step {status.Step} and continues on another silo");
        return status.Phase == RunPhase.Created ? await RestartAsync(last) : status;
    }

    async Task<RunStatus> RestartAsync(RunStatus last)
    {
        string? latest = RunState.Latest(spec.RunDir, notice);
        notice(latest is null
            ? $"the run's silo {last.Silo} is gone (at step {last.Step}) and no checkpoint was written yet: starting the run over"
            : $"the run's silo {last.Silo} is gone (at step {last.Step}): resuming from {latest}");
        var status = await RetryPolicy.RunPoll.RunAsync(_ => run.StartAsync(spec, resume: latest is not null));
        notice($"run continues on silo {status.Silo} from step {status.Step}");
        return status;
    }
}
