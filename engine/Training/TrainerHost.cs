using TorchSharp;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using TreePO.Engine.Threading;
using static TorchSharp.torch;

namespace TreePO.Engine.Training;

/// <summary>
/// The trainer's side of a run, outside Orleans: the training copy of the model and its optimiser on their own model
/// thread, the current weight version, and that version's weights serialised once as safetensors bytes in chunks
/// (<see cref="WeightSnapshot"/>) for every engine to pull. Version N+1 is published only after the update that
/// produced it has finished. The model and its optimiser state live on <see cref="TrainerOptions.Device"/>; the
/// snapshot and checkpoints are copied to the host once per version.
/// </summary>
public sealed class TrainerHost : IAsyncDisposable
{
    public const string OptimizerFile = "optimizer.bin";

    readonly ModelThread thread;
    readonly Qwen2Model model;
    readonly PolicyTrainer trainer;
    readonly int chunkBytes;
    WeightSnapshot? snapshot;

    TrainerHost(ModelThread thread, Qwen2Model model, PolicyTrainer trainer, int version, int chunkBytes)
    {
        this.chunkBytes = chunkBytes;
        this.thread = thread;
        this.model = model;
        this.trainer = trainer;
        Version = version;
    }

    public int Version { get; private set; }
    public Qwen2Config Config => model.Config;
    /// <summary>Where the model and the optimiser state live (<see cref="TrainerOptions.Device"/>).</summary>
    public Device Device => model.Device;

    /// <summary>Loads the model (HF layout) on <see cref="TrainerOptions.Device"/> and, when the folder has one, the
    /// optimiser state saved beside it. A device this process cannot use is refused first, by its option's name.</summary>
    public static async Task<TrainerHost> StartAsync(string modelDir, TrainerOptions options, int version = 0, int torchThreads = 0,
        int weightChunkBytes = WeightSnapshot.DefaultChunkBytes)
    {
        if (weightChunkBytes < 1) throw new ArgumentOutOfRangeException(nameof(weightChunkBytes), $"must be positive, got {weightChunkBytes}");
        var thread = new ModelThread($"trainer:{Path.GetFileName(modelDir)}", torchThreads);
        try
        {
            var host = await thread.RunAsync(() =>
            {
                var device = DeviceName.Resolve(options.Device, "Trainer:Device");
                var model = Qwen2Checkpoint.Load(modelDir, device);
                model.eval();
                var trainer = new PolicyTrainer(model, ids => NextTokenLogProbs(model, ids), options,
                    (ids, positions, mask, rows, targets) => model.TokenLogProbs(ids, positions, mask, rows, targets));
                string opt = Path.Combine(modelDir, OptimizerFile);
                if (File.Exists(opt)) trainer.LoadOptimizer(opt);
                return new TrainerHost(thread, model, trainer, version, weightChunkBytes);
            });
            await thread.RunAsync(host.Serialize);
            return host;
        }
        catch
        {
            thread.Dispose();
            throw;
        }
    }

    /// <summary>[B, T] ids to [B, T-1] next-token log-probs, chunked over positions.</summary>
    public static Tensor NextTokenLogProbs(Qwen2Model model, Tensor ids)
    {
        long t = ids.shape[1];
        return model.TokenLogProbs(ids.narrow(1, 0, t - 1), ids.narrow(1, 1, t - 1));
    }

    /// <summary>One policy update; publishes version N+1 and returns its statistics.</summary>
    public async Task<PolicyStepStats> TrainAsync(IReadOnlyList<TrainingSample> samples, ulong seed, CancellationToken cancellationToken = default)
    {
        foreach (var s in samples)
        {
            if (s.Length > model.Config.MaxPositionEmbeddings)
                throw new ArgumentException($"a training sample of {s.Length} tokens exceeds max_position_embeddings {model.Config.MaxPositionEmbeddings}");
            if (s.Prompt.Concat(s.Response).Any(id => id < 0 || id >= model.Config.VocabSize))
                throw new ArgumentException($"a training sample has a token id outside the vocabulary (0..{model.Config.VocabSize - 1})");
        }
        return await thread.RunAsync(() =>
        {
            var stats = trainer.Step(samples, seed);
            Version++;
            Serialize();
            return stats;
        }, cancellationToken);
    }

    /// <summary>The current version's weights in chunks (immutable once published; a later update publishes a new one).</summary>
    public WeightSnapshot Snapshot => snapshot ?? throw new InvalidOperationException("no weights published yet");

    /// <summary>The current snapshot, or null while an update is writing the next one.</summary>
    public WeightSnapshot? Published => snapshot;

    /// <summary>Writes the model in HF layout plus the optimiser state: a checkpoint any HF tool and the engine load.</summary>
    public Task SaveAsync(string dir, CancellationToken cancellationToken = default) => thread.RunAsync(() =>
    {
        Qwen2Checkpoint.Save(model, dir);
        trainer.SaveOptimizer(Path.Combine(dir, OptimizerFile));
    }, cancellationToken);

    /// <summary>Response log-probs under the current weights (for tests and diagnostics), laid out as the options say
    /// or as <paramref name="packed"/> says.</summary>
    public Task<float[][]> ResponseLogProbsAsync(IReadOnlyList<TrainingSample> samples, bool? packed = null) =>
        thread.RunAsync(() => trainer.ResponseLogProbs(samples, packed));

    void Serialize()
    {
        snapshot = null;   // the old version's chunks can go once no pull holds them
        snapshot = WeightSnapshot.Capture(Version, model.state_dict(), chunkBytes);
    }

    /// <summary>Frees the model after the work already queued (an update in progress finishes first: never disposed
    /// mid-step) and lets the thread end, awaiting both rather than joining the thread: callers are often grains, whose
    /// scheduler threads must not block.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        try { await thread.RunAsync(() => { trainer.Dispose(); model.Dispose(); }); }
        catch (ObjectDisposedException) { }   // the thread had already stopped
        thread.Complete();
        await thread.Exited;
    }

    int disposed;
}
