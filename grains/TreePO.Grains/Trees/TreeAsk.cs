namespace TreePO.Grains.Trees;

/// <summary>
/// Asks a query tree for its result and asks again when the tree's silo went away: the next call activates the tree
/// on another silo, where it resumes from its stored snapshot (<see cref="TreeProgress"/>). Until the cluster has
/// declared the dead silo dead a new call can fail too, so the asks are spaced, doubling from
/// <see cref="FirstDelay"/> up to 8 s: the default 8 asks cover about 40 s, twice Orleans' default failure detection.
/// Errors of the tree itself (a bad config, no engine left) are not retried.
/// </summary>
public sealed class TreeAsk
{
    public static readonly TreeAsk Default = new();

    public int Attempts { get; init; } = 8;
    public TimeSpan FirstDelay { get; init; } = TimeSpan.FromMilliseconds(500);
    static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(8);

    /// <param name="onRetry">Called before each ask after the first, with the failure.</param>
    public async Task<TreeResult> RunAsync(IGrainFactory grains, string treeKey, TreeJob job,
        Action<int, Exception>? onRetry = null, CancellationToken cancellationToken = default)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await grains.GetGrain<IQueryTreeGrain>(treeKey).RunAsync(job, cancellationToken);
            }
            catch (Exception e) when (attempt < Attempts && !cancellationToken.IsCancellationRequested && IsSiloLoss(e))
            {
                var wait = FirstDelay * Math.Pow(2, attempt - 1);
                await Task.Delay(wait < MaxDelay ? wait : MaxDelay, cancellationToken);
                onRetry?.Invoke(attempt + 1, e);
            }
        }
    }

    /// <summary>The call, not the tree, failed: silo unavailable, connection lost, no answer in time.</summary>
    public static bool IsSiloLoss(Exception e) => e is OrleansException or TimeoutException;
}
