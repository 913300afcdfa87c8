using TreePO.Engine.Checkpoint;
using TreePO.Engine.Model;
using TreePO.Engine.Scheduling;
using static TorchSharp.torch;

namespace TreePO.Engine.Execution;

/// <summary>
/// New weights between two steps: the bytes are read or staged off the model thread, checked against the model before
/// anything is written, then copied into the parameters in place on the model thread; every cached node goes and
/// running requests start over under the new version (or fail, if they asked for the old one).
/// </summary>
/// <param name="publish">Refreshes the engine's statistics (before the caller wakes up).</param>
internal sealed class WeightSwap(Qwen2Model model, SegmentScheduler scheduler, Func<Action, bool> post, Action publish)
{
    volatile int version;

    /// <summary>The version of the weights the engine serves.</summary>
    public int Version => version;

    /// <summary>Replaces the weights with a safetensors state dict (HF key names, any float dtype).</summary>
    public async Task LoadAsync(int newVersion, Stream safetensors, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(safetensors);
        string? spool = null;
        Stream source = safetensors;
        try
        {
            if (!safetensors.CanSeek)
            {
                // Read on the caller's side, so the model thread only ever does the swap itself.
                spool = Path.Combine(Path.GetTempPath(), $"treepo-weights-{Guid.NewGuid():N}.safetensors");
                await using (var file = File.Create(spool)) await safetensors.CopyToAsync(file, cancellationToken);
                source = File.OpenRead(spool);
            }
            await RunAsync(newVersion, () => Qwen2Checkpoint.LoadWeights(model, source, $"weights of version {newVersion}"));
        }
        finally
        {
            if (spool is not null)
            {
                await source.DisposeAsync();
                File.Delete(spool);
            }
        }
    }

    /// <summary>Opens a staging area for a safetensors file that starts with <paramref name="header"/> (checked against
    /// the model now, on the model thread).</summary>
    public Task<StagedWeights> StageAsync(int newVersion, byte[] header, long totalBytes)
    {
        ArgumentNullException.ThrowIfNull(header);
        var done = new TaskCompletionSource<StagedWeights>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!post(() =>
            {
                try { done.TrySetResult(StagedWeights.Open(model, newVersion, header, totalBytes)); }
                catch (Exception e) { done.TrySetException(e); }
            }))
            return Task.FromException<StagedWeights>(new ObjectDisposedException(nameof(InferenceEngine)));
        return done.Task;
    }

    /// <summary>Swaps in a complete staging area. Not abandoned on cancellation once posted: the swap reads the staging
    /// area, which the caller frees after this returns.</summary>
    public Task LoadAsync(StagedWeights staged, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(staged);
        cancellationToken.ThrowIfCancellationRequested();
        staged.EnsureComplete();
        return RunAsync(staged.Version, () => staged.CopyInto(model));
    }

    Task RunAsync(int newVersion, Action load)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!post(() => Swap(newVersion, load, done))) throw new ObjectDisposedException(nameof(InferenceEngine));
        return done.Task;
    }

    void Swap(int newVersion, Action load, TaskCompletionSource done)
    {
        try
        {
            using var scope = NewDisposeScope();
            load();
        }
        catch (Exception e)
        {
            done.TrySetException(e);
            return;
        }
        // KV computed under the old weights is never reused.
        version = newVersion;
        scheduler.RestartAll(newVersion);
        publish();
        done.TrySetResult();
    }
}
