using TreePO.Core.Eval;

namespace TreePO.Grains.Training;

/// <summary>Where a run is. <see cref="Drained"/>: its silo is stopping and the run stopped there after checkpointing its
/// last finished step; it is not done: its client starts it again on another silo (RunSupervisor), or, on a redis or
/// postgres cluster, its recovery reminder does (RunRecovery).</summary>
public enum RunPhase { Created, Starting, Evaluating, Sampling, Training, Syncing, Checkpointing, Finished, Failed, Cancelled, Drained }

/// <summary>Where a run stands, for the client's live progress. <see cref="LastMetrics"/> is the latest
/// metrics.jsonl line; <see cref="Warnings"/> the latest skipped rows and prompts (file and line), at most 50.
/// <see cref="Silo"/> is the silo the run (and its trainer) lives on; <see cref="ResumedFromStep"/> the checkpoint
/// step this activation continued from, or -1. <see cref="Record"/>: what the run storage holds for it, where runs
/// recover without their client (null elsewhere, or before its first start).</summary>
[GenerateSerializer, Immutable, Alias("treepo.run-status")]
public sealed record RunStatus(
    [property: Id(0)] string RunId,
    [property: Id(1)] RunPhase Phase,
    [property: Id(2)] int Step,
    [property: Id(3)] int Steps,
    [property: Id(4)] int PolicyVersion,
    [property: Id(5)] string? LastMetrics,
    [property: Id(6)] EvalPoint[] Evals,
    [property: Id(7)] double WallSeconds,
    [property: Id(8)] int SkippedRows,
    [property: Id(9)] int SkippedPrompts,
    [property: Id(10)] string[] Warnings,
    [property: Id(11)] string? Error,
    [property: Id(12)] string Silo = "",
    [property: Id(13)] int ResumedFromStep = -1,
    [property: Id(14)] RunRecordView? Record = null)
{
    public bool Done => Phase is RunPhase.Finished or RunPhase.Failed or RunPhase.Cancelled;
}
