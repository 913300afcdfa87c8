using TreePO.Core.Protocol;
using TorchSharp;
using TreePO.Engine.Kv;
using TreePO.Engine.Model;
using TreePO.Engine.Scheduling;
using TreePO.Engine.Threading;

namespace TreePO.Engine.Execution;

/// <summary>
/// The request loop on the engine's model thread (<see cref="ModelThread"/>): callers post commands (a new request, a
/// release, a cancellation, a weight swap); between commands the loop admits waiting requests
/// (<see cref="SegmentScheduler"/>), runs one step over the running batch (<see cref="StepRunner"/>) and hands finished
/// requests back. It owns the KV storage and the model, and frees them when it stops.
/// </summary>
internal sealed class EngineLoop
{
    /// <summary>How long a stalled loop (nothing runs, nothing fits) waits for trees to release before forcing the
    /// first request in.</summary>
    static readonly TimeSpan StallWait = TimeSpan.FromMilliseconds(50);

    readonly Qwen2Model model;
    readonly KvCache cache;
    readonly KvPool pool;
    readonly StepRunner runner;
    readonly object postGate = new();
    readonly ModelThread thread;
    readonly TaskCompletionSource ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    volatile EngineCounters stats;
    bool closed, shutDown;
    int disposed;
    long stepsRetried, stepsFailed;

    /// <param name="slots">The slots to allocate (<see cref="EngineOptions.SlotsFor"/>).</param>
    /// <param name="committed">Whether the KV cache is written with zeros at allocation (<see cref="KvCache"/>).</param>
    public EngineLoop(Qwen2Model model, EngineOptions options, int maxSequenceLength, int slots, bool committed, IReadOnlySet<int> eos)
    {
        this.model = model;
        cache = new KvCache(model.Config, slots, maxSequenceLength, model.Device, model.DType, committed);
        pool = new KvPool(slots, options.KvBudgetBytes, cache.BytesPerToken, new PrefixLedger());
        Scheduler = new SegmentScheduler(pool, cache, maxSequenceLength, Publish);
        runner = new StepRunner(model, cache, pool, eos, options.PrefillChunk, options.StepFault);
        Weights = new WeightSwap(model, Scheduler, Post, Publish);
        stats = Snapshot();
        // Last: the thread calls Pump as soon as it runs.
        thread = new ModelThread("treepo-engine", options.ThreadsFor(model.Config), Pump);
        thread.Post(() => torch.set_grad_enabled(false));
        // Before any request: the first steps of a fresh thread would otherwise pay its first-touch page faults.
        thread.Post(() =>
        {
            try { runner.WarmUp(); }
            catch (Exception) { /* only a head start: a step that cannot run fails its own requests when it comes */ }
        });
        thread.Post(() => ready.TrySetResult());
    }

    /// <summary>Completes once the start-up work on the model thread (the warm-up step) is done.</summary>
    public Task Ready => ready.Task;

    public SegmentScheduler Scheduler { get; }
    public WeightSwap Weights { get; }
    public long KvBytesPerToken => cache.BytesPerToken;
    public EngineCounters Stats => stats;

    /// <summary>Queues a command for the model thread; false once the engine is stopping.</summary>
    public bool Post(Action command)
    {
        lock (postGate)
        {
            if (closed) return false;
            return thread.Post(() =>
            {
                try { command(); }
                catch (Exception) { /* commands complete their own callers; one that throws must not stop the loop */ }
            });
        }
    }

    /// <summary>Fails every request still queued or running, frees the cache and the model, and stops the thread.</summary>
    public async ValueTask StopAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            lock (postGate)
            {
                closed = true;
                // Behind every command posted before: they run first, and the requests they added fail below.
                thread.Post(Shutdown);
            }
        }
        await thread.Exited;
    }

    TimeSpan Pump(bool waitedInVain)
    {
        if (shutDown) return Timeout.InfiniteTimeSpan;
        try
        {
            Scheduler.Admit(Weights.Version);
            if (Scheduler.Running.Count > 0)
            {
                Scheduler.ReuseLatePrefixes();
                Step();
                return TimeSpan.Zero;
            }
            if (!Scheduler.Stalled) return Timeout.InfiniteTimeSpan;
            // Nothing fits and nothing runs: the trees whose nodes fill the cache are about to send their next round
            // or release. Give them a moment; then the first request goes in at any cost.
            if (!waitedInVain) return StallWait;
            Scheduler.Force();
            return TimeSpan.Zero;
        }
        catch (Exception e)
        {
            // A bug or a native failure in one step: fail what was running, keep serving.
            Scheduler.FailRunning(new InvalidOperationException($"engine step failed: {e.Message}", e));
            return TimeSpan.Zero;
        }
        finally
        {
            Publish();
        }
    }

    /// <summary>One step. One that throws runs again once (it left nothing half done); one that throws twice fails the
    /// requests whose work fails alone, or every request of the step when none does, and the loop goes on.</summary>
    void Step()
    {
        List<RequestState> finished;
        try
        {
            finished = runner.Step(Scheduler.Running);
        }
        catch (Exception)
        {
            stepsRetried++;
            try
            {
                finished = runner.Step(Scheduler.Running);
            }
            catch (Exception again)
            {
                stepsFailed++;
                var culprits = runner.Culprits(Scheduler.Running);
                var error = new InvalidOperationException($"engine step failed twice: {again.Message}", again);
                if (culprits.Count == 0) Scheduler.FailRunning(error);
                else foreach (var r in culprits) Scheduler.Fail(r, error);
                return;
            }
        }
        if (finished.Count == 0) return;
        Scheduler.Retire(finished);
        // Publish the counters before callers wake up, so a caller that reads them after its await sees its own work.
        Publish();
        foreach (var r in finished) Scheduler.Complete(r, Weights.Version);
    }

    void Shutdown()
    {
        var gone = new ObjectDisposedException(nameof(InferenceEngine));
        Scheduler.FailRunning(gone);
        Scheduler.FailWaiting(gone);
        Publish();
        shutDown = true;
        cache.Dispose();
        model.Dispose();
        thread.Complete();
    }

    public void Publish() => stats = Snapshot();

    EngineCounters Snapshot()
    {
        var running = Scheduler.Running;
        return new(
            Weights.Version, cache.Slots, pool.LiveSlots,
            running.Sum(r => r.Branches.Count(b => !b.Done)), running.Count, pool.NodeCount,
            pool.UsedBytes, pool.BudgetBytes, Scheduler.Waiting.Count,
            runner.Prefilled, runner.Decoded, Scheduler.Reused, runner.Steps,
            runner.Steps == 0 ? 0 : (double)runner.BatchSum / runner.Steps, runner.MaxBatch,
            cache.Copies, pool.Evictions, Scheduler.Completed, Scheduler.Failed,
            DisposeScopeManager.Statistics.ThreadTotalLiveCount, stepsRetried, stepsFailed,
            runner.Recomputed, runner.RecomputedEvicted, runner.RecomputedReleased, runner.StepTimes());
    }
}
