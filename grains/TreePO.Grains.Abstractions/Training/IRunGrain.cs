namespace TreePO.Grains.Training;

/// <summary>
/// A training run's loop (key: run id). <see cref="StartAsync"/> validates the spec, starts the loop and returns;
/// the caller polls <see cref="GetStatusAsync"/>. With <c>resume</c>, the run continues from the latest checkpoint in
/// its run folder, so that the metrics of the continuation equal those of a run never interrupted.
/// </summary>
[Alias("treepo.run")]
public interface IRunGrain : IGrainWithStringKey
{
    [Alias("start"), ResponseTimeout("00:10:00")]
    Task<RunStatus> StartAsync(RunSpec spec, bool resume);

    [Alias("status")]
    Task<RunStatus> GetStatusAsync();

    /// <summary>Stops the loop after the work in flight (no checkpoint is written for the unfinished step).</summary>
    [Alias("cancel")]
    Task CancelAsync();

    /// <summary>Its silo is stopping: stops the loop (the step in flight is dropped), checkpoints the last finished step
    /// unless a checkpoint of it exists or the trainer already moved past it, keeps the training lease (the run lives on)
    /// and ends in <see cref="RunPhase.Drained"/>. Returns a line saying what it did.</summary>
    [Alias("drain"), ResponseTimeout("00:05:00")]
    Task<string> DrainAsync();
}
