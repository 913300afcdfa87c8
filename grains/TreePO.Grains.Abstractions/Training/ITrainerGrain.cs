namespace TreePO.Grains.Training;

/// <summary>
/// The training copy of a run's policy (key: run id). Takes a step's finished trees, computes their advantages, runs
/// the policy update and publishes the next weight version, which engines pull in chunks.
/// </summary>
[Alias("treepo.trainer")]
public interface ITrainerGrain : IGrainWithStringKey
{
    /// <summary>Loads the model (and its optimiser state, when saved beside it). Returns the model's context length.</summary>
    [Alias("init"), ResponseTimeout("00:10:00")]
    Task<int> InitializeAsync(TrainerSetup setup);

    /// <summary>One update from <paramref name="treeLines"/> (trees.jsonl lines, scored). Every segment of every
    /// trajectory must carry the trainer's current version; otherwise the step is refused.</summary>
    [Alias("train"), ResponseTimeout("01:00:00")]
    Task<TrainStepReport> TrainAsync(string[] treeLines, ulong seed, CancellationToken cancellationToken = default);

    [Alias("version")]
    Task<int> GetVersionAsync();

    /// <summary>The manifest of <paramref name="version"/> (size, header, chunking); fails when the trainer does not
    /// hold that version now.</summary>
    [Alias("weights-manifest"), Orleans.Concurrency.AlwaysInterleave]
    Task<WeightManifest> GetWeightManifestAsync(int version);

    /// <summary>Chunk <paramref name="index"/> of <paramref name="version"/>, prepared once for all engines; fails when
    /// the trainer has moved on to another version meanwhile.</summary>
    [Alias("weights-chunk"), Orleans.Concurrency.AlwaysInterleave]
    Task<WeightChunk> GetWeightChunkAsync(int version, int index, CancellationToken cancellationToken = default);

    /// <summary>A one-time offer to read <paramref name="version"/> over a plain TCP stream from the trainer's silo; null
    /// when that silo offers none (the cluster uses TLS, or the server is off): pull chunks then.</summary>
    [Alias("weights-stream-offer"), Orleans.Concurrency.AlwaysInterleave]
    Task<WeightStreamOffer?> OfferWeightStreamAsync(int version);

    /// <summary>Writes the model in HF layout and optimizer.bin to <paramref name="dir"/>.</summary>
    [Alias("save"), ResponseTimeout("00:10:00")]
    Task SaveCheckpointAsync(string dir);

    /// <summary>Frees the model and its thread.</summary>
    [Alias("close")]
    Task CloseAsync();
}
