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
        }) { IsBackground = true, Name = "collection-pressure" };
        thread.Start();
    }

    public void Dispose()
    {
        stop.Cancel();
        thread.Join();
        stop.Dispose();
    }
}
