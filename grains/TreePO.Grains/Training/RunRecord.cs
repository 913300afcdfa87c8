namespace TreePO.Grains.Training;

/// <summary>What a run grain keeps in the cluster's run storage (<see cref="RunStorage.Name"/>) so that another
/// silo can take the run over when this one dies, without its client: the spec it was started with, whether it is
/// still meant to be training, and its progress. Written only where <see cref="RunRecovery.Enabled"/>.</summary>
[GenerateSerializer, Alias("treepo.run-record")]
public sealed class RunRecord
{
    /// <summary>The spec of the run's last start (a resume included), as JSON (System.Text.Json, the form of the run
    /// folder's run_spec.json: the storage's own JSON serializer would have to be allowed every type it names); null
    /// before the first.</summary>
    [Id(0)] public string? SpecJson { get; set; }

    /// <summary>Started and not yet finished, failed or cancelled: a reminder tick that finds the run not running
    /// resumes it. A drained run stays active (it continues elsewhere).</summary>
    [Id(1)] public bool Active { get; set; }

    /// <summary>The step of the run's latest checkpoint (0: none yet), the step a recovery resumes from.</summary>
    [Id(2)] public int CheckpointedStep { get; set; }

    /// <summary>Recoveries that failed in a row; after <see cref="RunRecovery.MaxFailedRecoveries"/> the run is given
    /// up (marked inactive) instead of being retried every period forever.</summary>
    [Id(3)] public int FailedRecoveries { get; set; }

    /// <summary>Times the run was resumed by its reminder (not by a client).</summary>
    [Id(4)] public int Recoveries { get; set; }
}
