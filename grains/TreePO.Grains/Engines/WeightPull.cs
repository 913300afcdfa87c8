using TreePO.Engine.Checkpoint;
using TreePO.Grains.Training;

namespace TreePO.Grains.Engines;

/// <summary>
/// Pulls one weight version's chunks from a trainer into a sink, up to <c>window</c> requests in flight (chunks may
/// arrive in any order; each lands at its own offset, checked against the manifest's hash). The first failure (the trainer moved on to another version,
/// a bad chunk, cancellation) stops the other pulls and fails the whole pull; the sink is then never swapped in.
/// </summary>
public static class WeightPull
{
    public static async Task RunAsync(ITrainerGrain trainer, WeightManifest manifest, WeightSink sink, int window, CancellationToken cancellationToken)
    {
        if (window < 1) throw new ArgumentOutOfRangeException(nameof(window), $"must be positive, got {window}");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        int next = -1;
        async Task Worker()
        {
            try
            {
                for (int i = Interlocked.Increment(ref next); i < manifest.ChunkCount; i = Interlocked.Increment(ref next))
                {
                    stop.Token.ThrowIfCancellationRequested();
                    var chunk = await trainer.GetWeightChunkAsync(manifest.Version, i, stop.Token);
                    long offset = (long)i * manifest.ChunkBytes;
                    long expected = Math.Min(manifest.ChunkBytes, manifest.TotalBytes - offset);
                    if (chunk.Version != manifest.Version || chunk.Index != i || chunk.Bytes.Length != expected)
                        throw new InvalidDataException(
                            $"weights of version {manifest.Version}: asked for chunk {i} ({expected} bytes), got chunk {chunk.Index} of version {chunk.Version} ({chunk.Bytes.Length} bytes)");
                    TreePO.Grains.WeightStream.WeightDigest.CheckChunk(manifest, i, chunk.Bytes);
                    sink.Write(offset, chunk.Bytes);
                }
            }
            catch
            {
                stop.Cancel();
                throw;
            }
        }
        var workers = Enumerable.Range(0, Math.Min(window, Math.Max(1, manifest.ChunkCount))).Select(_ => Worker()).ToList();
        try
        {
            await Task.WhenAll(workers);
        }
        catch when (workers.FirstOrDefault(w => w.IsFaulted && w.Exception!.InnerException is not OperationCanceledException) is { } first)
        {
            // Report the cause, not the cancellations it set off in the other pulls.
            throw first.Exception!.InnerException!;
        }
        sink.EnsureComplete();
    }
}
