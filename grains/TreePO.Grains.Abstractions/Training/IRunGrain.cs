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
}
