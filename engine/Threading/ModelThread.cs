using System.Collections.Concurrent;
using TreePO.Engine.Native;

namespace TreePO.Engine.Threading;

/// <summary>
/// One dedicated OS thread that runs every TorchSharp call for one model. TorchSharp's dispose scopes and grad mode
/// are thread-local and do not follow an await onto another thread, so all work is queued here and callers await.
/// An optional <em>pump</em> runs background work between queued items (the inference engine's steps): after the
/// queue is drained the thread calls it, and it answers how long the thread may wait for the next item before
/// calling it again (<see cref="Timeout.InfiniteTimeSpan"/>: nothing to do until an item arrives).
/// </summary>
public sealed class ModelThread : IDisposable
{
    /// <summary>Background work between queued items. Its argument is true when the thread waited the time the
    /// previous call asked for and no item arrived; it returns how long to wait next.</summary>
    public delegate TimeSpan Pump(bool waitedInVain);

    readonly BlockingCollection<Action> queue = new();
    readonly Thread thread;
    readonly Pump? pump;
    readonly TaskCompletionSource exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>libtorch keeps one process-wide thread count that each thread copies at its first parallel op, so a
    /// count set here could be replaced by another model thread's before this one runs anything. Reading the count back
    /// makes this thread take it now; from then on its count is its own.</summary>
    static void PinTorchThreads(int threads)
    {
        TorchSharp.torch.set_num_threads(threads);
        if (TorchSharp.torch.get_num_threads() != threads) TorchSharp.torch.set_num_threads(threads);
    }

    /// <summary>The intra-op threads a model thread asked for <paramref name="torchThreads"/> runs on (0: every core).</summary>
    public static int ThreadsFor(int torchThreads) => torchThreads > 0 ? torchThreads : Environment.ProcessorCount;

    public ModelThread(string name, int torchThreads = 0, Pump? pump = null)
    {
        this.pump = pump;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        thread = new Thread(() =>
        {
            try
            {
                TorchRuntime.EnsureLoaded();
                PinTorchThreads(ThreadsFor(torchThreads));
                started.SetResult();
            }
            catch (Exception e)
            {
                started.SetException(e);
                exited.TrySetResult();
                return;
            }
            try { Loop(); }
            finally { exited.TrySetResult(); }
        })
        { IsBackground = true, Name = name };
        thread.Start();
        started.Task.GetAwaiter().GetResult(); // constructor: surface a native load failure to the creator at once
        TorchRuntime.SingleThreadDefault();     // the count pinned here is this thread's own; others keep one
    }

    /// <summary>Completes when the thread has stopped (after <see cref="Complete"/> or <see cref="Dispose"/> and the
    /// items queued before it).</summary>
    public Task Exited => exited.Task;

    void Loop()
    {
        if (pump is null)
        {
            foreach (var work in queue.GetConsumingEnumerable()) work();
            return;
        }
        bool waitedInVain = false;
        while (true)
        {
            var wait = pump(waitedInVain);
            if (queue.TryTake(out var work, wait))
            {
                work();
                while (queue.TryTake(out work)) work();
                waitedInVain = false;
            }
            else if (queue.IsCompleted) return;
            else waitedInVain = wait > TimeSpan.Zero;
        }
    }

    /// <summary>Queues <paramref name="work"/> as is: it must not throw. False once the thread no longer takes work.</summary>
    public bool Post(Action work)
    {
        try
        {
            queue.Add(work, CancellationToken.None);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken = default)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (cancellationToken.IsCancellationRequested)
        {
            tcs.SetCanceled(cancellationToken);
            return tcs.Task;
        }
        if (!Post(() =>
            {
                if (cancellationToken.IsCancellationRequested) { tcs.TrySetCanceled(cancellationToken); return; }
                try { tcs.TrySetResult(work()); }
                catch (Exception e) { tcs.TrySetException(e); }
            }))
            tcs.SetException(new ObjectDisposedException(thread.Name, "the model thread has stopped"));
        return tcs.Task;
    }

    public Task RunAsync(Action work, CancellationToken cancellationToken = default) =>
        RunAsync(() => { work(); return true; }, cancellationToken);

    /// <summary>Takes no more work; the thread stops once the items already queued have run. Safe on the thread itself.</summary>
    public void Complete() => queue.CompleteAdding();

    public void Dispose()
    {
        queue.CompleteAdding();
        if (Thread.CurrentThread != thread) thread.Join(TimeSpan.FromSeconds(30));
    }
}
