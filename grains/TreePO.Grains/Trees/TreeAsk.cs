namespace TreePO.Grains.Trees;

/// <summary>
/// Asks a query tree for its result and asks again when the tree's silo went away: the next call activates the tree
/// on another silo, where it resumes from its stored snapshot (<see cref="TreeProgress"/>). Until the cluster has
/// declared the dead silo dead a new call can fail too, so failed asks are spaced, doubling from
/// <see cref="FirstDelay"/> up to 8 s: the default 8 asks cover about 40 s, twice Orleans' default failure detection.
/// Errors of the tree itself (a bad config, no engine left) are not retried.
/// <para>Inside a silo one <c>RunAsync</c> call per ask is enough: Orleans fails a silo's calls to a silo it declares
/// dead. A client's call is not failed when the silo, or the gateway it went through, dies, so clients set
/// <see cref="Poll"/>: start the tree, then poll it with short calls; a poll that times out or fails is simply sent
/// again, and a poll that finds the tree not started (a new activation) starts it again.</para>
/// </summary>
public sealed record TreeAsk
{
    public static readonly TreeAsk Default = new();

    /// <summary>Failed asks in a row before the tree counts as failed.</summary>
    public int Attempts { get; init; } = 8;
    public TimeSpan FirstDelay { get; init; } = TimeSpan.FromMilliseconds(500);
    public bool Poll { get; init; }
    public TimeSpan PollWait { get; init; } = TimeSpan.FromSeconds(5);
    static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(8);

    /// <param name="onRestart">Called each time the tree has to be asked again: its silo went away (the failure is
    /// given) or it was found not started (null).</param>
    public async Task<TreeResult> RunAsync(IGrainFactory grains, string treeKey, TreeJob job,
        Action<Exception?>? onRestart = null, CancellationToken cancellationToken = default)
    {
        var tree = grains.GetGrain<IQueryTreeGrain>(treeKey);
        bool start = true;
        for (int failures = 0; ;)
        {
            try
            {
                if (!Poll) return await tree.RunAsync(job, cancellationToken);
                if (start) await tree.StartAsync(job);
                start = false;
                var poll = await tree.PollAsync(PollWait);
                failures = 0;
                if (poll.Result is { } result) return result;
                if (poll.State == TreePollState.NotStarted) { start = true; onRestart?.Invoke(null); }
                cancellationToken.ThrowIfCancellationRequested();
            }
            catch (Exception e) when (++failures < Attempts && !cancellationToken.IsCancellationRequested && IsSiloLoss(e))
            {
                onRestart?.Invoke(e);
                await Task.Delay(DelayAfter(failures), cancellationToken);
                start = true;   // starting is idempotent: a live activation that runs the job ignores it
            }
        }
    }

    /// <summary>The wait after the given number of failed asks in a row: doubling from <see cref="FirstDelay"/>, at
    /// most 8 s.</summary>
    public TimeSpan DelayAfter(int failures)
    {
        var wait = FirstDelay * Math.Pow(2, failures - 1);
        return wait < MaxDelay ? wait : MaxDelay;
    }

    /// <summary>The call, not the tree, failed: silo unavailable, connection lost, no answer in time.</summary>
    public static bool IsSiloLoss(Exception e) => e is OrleansException or TimeoutException;
}
