using System.Collections.Concurrent;
using TreePO.Engine.Native;

namespace TreePO.Engine.Threading;

/// <summary>
/// One dedicated OS thread that runs every TorchSharp call for one model. TorchSharp's dispose scopes and grad mode
/// are thread-local and do not follow an await onto another thread, so all work is queued here and callers await.
/// </summary>
public sealed class ModelThread : IDisposable
{
    readonly BlockingCollection<Action> queue = new();
    readonly Thread thread;

    public ModelThread(string name, int torchThreads = 0)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        thread = new Thread(() =>
        {
            try
            {
                TorchRuntime.EnsureLoaded();
                if (torchThreads > 0) TorchSharp.torch.set_num_threads(torchThreads);
                started.SetResult();
            }
            catch (Exception e)
            {
                started.SetException(e);
                return;
            }
            foreach (var work in queue.GetConsumingEnumerable()) work();
        }) { IsBackground = true, Name = name };
        thread.Start();
        started.Task.GetAwaiter().GetResult(); // constructor: surface a native load failure to the creator at once
    }

    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken = default)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (cancellationToken.IsCancellationRequested)
        {
            tcs.SetCanceled(cancellationToken);
            return tcs.Task;
        }
        try
        {
            queue.Add(() =>
            {
                if (cancellationToken.IsCancellationRequested) { tcs.TrySetCanceled(cancellationToken); return; }
                try { tcs.TrySetResult(work()); }
                catch (Exception e) { tcs.TrySetException(e); }
            }, CancellationToken.None);
        }
        catch (InvalidOperationException)
        {
            tcs.SetException(new ObjectDisposedException(thread.Name, "the model thread has stopped"));
        }
        return tcs.Task;
    }

    public Task RunAsync(Action work, CancellationToken cancellationToken = default) =>
        RunAsync(() => { work(); return true; }, cancellationToken);

    public void Dispose()
    {
        queue.CompleteAdding();
        if (Thread.CurrentThread != thread) thread.Join(TimeSpan.FromSeconds(30));
    }
}
