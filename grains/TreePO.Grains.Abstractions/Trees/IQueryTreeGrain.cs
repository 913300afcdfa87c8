namespace TreePO.Grains.Trees;

/// <summary>One query's tree of a rollout batch, key "{batch}/{query}": samples the tree against the engines,
/// scores its leaves and returns it.</summary>
[Alias("treepo.query-tree")]
public interface IQueryTreeGrain : IGrainWithStringKey
{
    [Alias("run"), ResponseTimeout("02:00:00")]
    Task<TreeResult> RunAsync(TreeJob job, CancellationToken cancellationToken = default);

    /// <summary>The silo this tree lives on (activating it there): a client watches that silo while it waits.</summary>
    [Alias("where"), ResponseTimeout("00:00:15")]
    Task<string> WhereAsync();
}
