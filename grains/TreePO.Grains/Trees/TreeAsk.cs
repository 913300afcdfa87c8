using TreePO.Grains.Resilience;

namespace TreePO.Grains.Trees;

/// <summary>
/// Asks a query tree for its result and asks again when the tree's silo went away: the next call activates the tree
/// on another silo, where it resumes from its stored snapshot (<see cref="TreeProgress"/>). Until the cluster has
/// declared the dead silo dead a new call can fail too, so failed asks are spaced by <see cref="Retry"/>
/// (<see cref="RetryPolicy.TreeAsk"/>: 8 asks over about 40 s; a call the runtime canceled counts as lost too). Errors
/// of the tree itself (a bad config, no engine left) are not retried.
/// <para>Inside a silo one <c>RunAsync</c> call per ask is enough: Orleans fails a silo's calls to a silo it declares
/// dead. A client's call is not failed when the silo, or the gateway it went through, dies, so clients set
/// <see cref="Poll"/>: start the tree, then poll it with short calls; a poll that times out or fails is simply sent
/// again, and a poll that finds the tree not started (a new activation) starts it again.</para>
/// </summary>
public sealed record TreeAsk
{
    public static readonly TreeAsk Default = new();

    /// <summary>Failed asks in a row before the tree counts as failed, and the waits between them.</summary>
    public RetryPolicy Retry { get; init; } = RetryPolicy.TreeAsk;
    public bool Poll { get; init; }
    public TimeSpan PollWait { get; init; } = TimeSpan.FromSeconds(5);

    /// <param name="onRestart">Called each time the tree has to be asked again: its silo went away (the failure is
    /// given) or it was found not started (null).</param>
    public async Task<TreeResult> RunAsync(IGrainFactory grains, string treeKey, TreeJob job,
        Action<Exception?>? onRestart = null, CancellationToken cancellationToken = default)
    {
        var tree = grains.GetGrain<IQueryTreeGrain>(treeKey);
        if (!Poll) return await Retry.RunAsync(ct => tree.RunAsync(job, ct), (e, _) => onRestart?.Invoke(e), cancellationToken);
        bool start = true;
        while (true)
        {
            // A poll that answers ends a run of failures: the next failure is the first of a new one.
            var poll = await Retry.RunAsync(async _ =>
            {
                if (start) await tree.StartAsync(job);
                start = false;
                return await tree.PollAsync(PollWait);
            }, (e, _) =>
            {
                onRestart?.Invoke(e);
                start = true;   // starting is idempotent: a live activation that runs the job ignores it
            }, cancellationToken);
            if (poll.Result is { } result) return result;
            if (poll.State == TreePollState.NotStarted) { start = true; onRestart?.Invoke(null); }
            cancellationToken.ThrowIfCancellationRequested();
        }
    }
}
