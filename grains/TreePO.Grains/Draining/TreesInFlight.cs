namespace TreePO.Grains.Draining;

/// <summary>
/// Per-silo singleton: the query trees of this silo whose result has not reached its caller yet (sampling, or done and
/// not yet polled). A draining silo waits for this to reach zero before Orleans deactivates its grains: a tree that
/// finished but was never collected would otherwise be sampled again elsewhere (a finished tree keeps no snapshot).
/// </summary>
public sealed class TreesInFlight
{
    readonly object gate = new();
    int count, peak;
    TaskCompletionSource? none;

    public int Count { get { lock (gate) return count; } }

    /// <summary>The most trees in flight at once so far (RunGrain caps its own: <see cref="Training.RunGrain.MaxTreesInFlight"/>).</summary>
    public int Peak { get { lock (gate) return peak; } }

    public void Add()
    {
        lock (gate) peak = Math.Max(peak, ++count);
    }

    public void Remove()
    {
        lock (gate)
        {
            if (count == 0) throw new InvalidOperationException("more trees removed than added");
            if (--count == 0)
            {
                none?.TrySetResult();
                none = null;
            }
        }
    }

    /// <summary>Completes when no tree is in flight (at once if none is).</summary>
    public Task WhenNoneAsync(CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (count == 0) return Task.CompletedTask;
            none ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return none.Task.WaitAsync(cancellationToken);
        }
    }
}
