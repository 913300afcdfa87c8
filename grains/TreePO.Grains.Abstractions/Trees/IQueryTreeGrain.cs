namespace TreePO.Grains.Trees;

/// <summary>One query's tree of a rollout batch, key "{batch}/{query}": samples the tree against the engines,
/// scores its leaves and returns it.</summary>
[Alias("treepo.query-tree")]
public interface IQueryTreeGrain : IGrainWithStringKey
{
    [Alias("run"), ResponseTimeout("02:00:00")]
    Task<TreeResult> RunAsync(TreeJob job, CancellationToken cancellationToken = default);

    /// <summary>Starts the job in the background unless this activation already runs or ran it; returns at once.
    /// With <see cref="PollAsync"/> this is how a client waits for a tree: no single call has to survive the whole
    /// run (a client's call whose gateway or silo dies is never answered).</summary>
    [Alias("start")]
    Task StartAsync(TreeJob job);

    /// <summary>Waits up to <paramref name="wait"/> for the started job. A failed run throws its error here.</summary>
    [Alias("poll"), ResponseTimeout("00:00:15")]
    Task<TreePoll> PollAsync(TimeSpan wait);
}
