namespace TreePO.Engine.Tests;

/// <summary>A thread that forces garbage collections and runs finalizers without pause until disposed: what makes a
/// Scalar freed by its finalizer during a native call likely instead of rare.</summary>
internal sealed class CollectionPressure : IDisposable
{
    readonly CancellationTokenSource stop = new();
    readonly Thread thread;

    public CollectionPressure()
    {
        thread = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        })
        { IsBackground = true, Name = "collection-pressure" };
        thread.Start();
    }

    /// <summary>Runs <paramref name="work"/>(i) on <paramref name="threads"/> threads of their own under collection
    /// pressure; returns the first exception any of them threw, or null.</summary>
    public static Exception? OnThreads(int threads, Action<int> work)
    {
        Exception? error = null;
        using (new CollectionPressure())
        {
            var workers = Enumerable.Range(0, threads).Select(i => new Thread(() =>
            {
                try { work(i); }
                catch (Exception e) { Interlocked.CompareExchange(ref error, e, null); }
            })).ToList();
            workers.ForEach(t => t.Start());
            workers.ForEach(t => t.Join());
        }
        return error;
    }

    public void Dispose()
    {
        stop.Cancel();
        thread.Join();
        stop.Dispose();
    }
}
