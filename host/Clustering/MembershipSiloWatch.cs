using Orleans.Runtime;
using TreePO.Grains.Placement;
using TreePO.Grains.Trees;

namespace TreePO.Hosting.Clustering;

/// <summary>
/// <see cref="ISiloWatch"/> for a client: from the first wait until disposed, one loop asks the management grain for
/// the active silos every <see cref="Period"/> and releases the waiters of every silo that is gone. A failed poll
/// (the answering silo died) is simply retried at the next tick.
/// </summary>
public sealed class MembershipSiloWatch(IGrainFactory grains) : ISiloWatch, IDisposable
{
    readonly object gate = new();
    readonly Dictionary<string, TaskCompletionSource> waiting = [];
    readonly CancellationTokenSource stop = new();
    Task? loop;

    public TimeSpan Period { get; init; } = TimeSpan.FromSeconds(1);

    public Task WhenGoneAsync(string silo, CancellationToken cancellationToken)
    {
        TaskCompletionSource tcs;
        lock (gate)
        {
            if (!waiting.TryGetValue(silo, out tcs!))
                waiting[silo] = tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            loop ??= Task.Run(PollAsync);
        }
        return tcs.Task.WaitAsync(cancellationToken);
    }

    async Task PollAsync()
    {
        var management = grains.GetGrain<IManagementGrain>(0);
        using var timer = new PeriodicTimer(Period);
        while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false))
        {
            Dictionary<SiloAddress, SiloStatus> hosts;
            try { hosts = await management.GetHosts(onlyActive: true).WaitAsync(TimeSpan.FromSeconds(5), stop.Token); }
            catch (Exception e) when (e is not OperationCanceledException || !stop.IsCancellationRequested) { continue; }
            var active = hosts.Keys.Select(s => SiloKey.For(s)).ToHashSet(StringComparer.Ordinal);
            lock (gate)
                foreach (var silo in waiting.Keys.Where(s => !active.Contains(s)).ToList())
                {
                    waiting[silo].TrySetResult();
                    waiting.Remove(silo);
                }
        }
    }

    public void Dispose()
    {
        stop.Cancel();
        stop.Dispose();
    }
}
