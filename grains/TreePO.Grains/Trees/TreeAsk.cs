namespace TreePO.Grains.Trees;

/// <summary>
/// Asks a query tree for its result and asks again when the tree's silo went away: the next call activates the tree
/// on another silo, where it resumes from its stored snapshot (<see cref="TreeProgress"/>). Until the cluster has
/// declared the dead silo dead a new call can fail too, so the asks are spaced, doubling from
/// <see cref="FirstDelay"/> up to 8 s: the default 8 asks cover about 40 s, twice Orleans' default failure detection.
/// Errors of the tree itself (a bad config, no engine left) are not retried. With a <see cref="Watch"/> (clients)
/// a call whose silo leaves the cluster is abandoned at once instead of waiting for its response timeout.
/// </summary>
public sealed record TreeAsk
{
    public static readonly TreeAsk Default = new();

    public int Attempts { get; init; } = 8;
    public TimeSpan FirstDelay { get; init; } = TimeSpan.FromMilliseconds(500);
    public ISiloWatch? Watch { get; init; }
    static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(8);

    /// <param name="onRetry">Called before each ask after the first, with its number and the failure.</param>
    public async Task<TreeResult> RunAsync(IGrainFactory grains, string treeKey, TreeJob job,
        Action<int, Exception>? onRetry = null, CancellationToken cancellationToken = default)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await AskAsync(grains.GetGrain<IQueryTreeGrain>(treeKey), treeKey, job, cancellationToken);
            }
            catch (Exception e) when (attempt < Attempts && !cancellationToken.IsCancellationRequested && IsSiloLoss(e))
            {
                var wait = FirstDelay * Math.Pow(2, attempt - 1);
                await Task.Delay(wait < MaxDelay ? wait : MaxDelay, cancellationToken);
                onRetry?.Invoke(attempt + 1, e);
            }
        }
    }

    async Task<TreeResult> AskAsync(IQueryTreeGrain tree, string treeKey, TreeJob job, CancellationToken cancellationToken)
    {
        if (Watch is null) return await tree.RunAsync(job, cancellationToken);
        string silo = await tree.WhereAsync();
        using var call = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var run = tree.RunAsync(job, call.Token);
        var gone = Watch.WhenGoneAsync(silo, call.Token);
        if (await Task.WhenAny(run, gone) == run) return await run;
        call.Cancel();   // tells the cluster to drop the call; the local wait may never end, so it is left behind
        _ = run.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
        throw new TreeSiloLostException(treeKey, silo);
    }

    /// <summary>The call, not the tree, failed: silo unavailable or gone, connection lost, no answer in time.</summary>
    public static bool IsSiloLoss(Exception e) => e is OrleansException or TimeoutException or TreeSiloLostException;
}
