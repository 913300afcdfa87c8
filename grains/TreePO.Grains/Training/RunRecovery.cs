namespace TreePO.Grains.Training;

/// <summary>
/// Run recovery without the client: on a cluster whose storage outlives its silos (Redis or PostgreSQL), a training
/// run keeps its spec and progress in the run storage (<see cref="RunRecord"/>) and registers an Orleans reminder
/// that ticks every <see cref="Period"/> while it trains. A tick that finds the run grain not running (its activation
/// was lost with its silo, so the tick activated a new one elsewhere) resumes the run from its latest checkpoint.
/// Off on a localhost cluster and in the embedded silo (memory dies with the silo; the client resumes there).
/// </summary>
/// <param name="Enabled">Reminders and the run record are used (the silo has a reminder service).</param>
/// <param name="Period">The reminder's period (Run:RecoveryPeriod): a run whose silo died resumes within about
/// this long after the cluster declares that silo dead.</param>
public sealed record RunRecovery(bool Enabled, TimeSpan Period)
{
    /// <summary>The reminder's name on the run grain.</summary>
    public const string ReminderName = "treepo-run-recovery";

    /// <summary>Failed resumes in a row after which the run is given up (the run folder is gone, say).</summary>
    public const int MaxFailedRecoveries = 3;

    public static readonly RunRecovery Disabled = new(false, TimeSpan.FromMinutes(1));
}
