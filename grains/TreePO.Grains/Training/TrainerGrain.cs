using TreePO.Core.Training;
using TreePO.Grains.WeightStream;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using TreePO.Core.Trees;
using TreePO.Engine.Training;

namespace TreePO.Grains.Training;

/// <summary>
/// Holds a run's <see cref="TrainerHost"/> (the training copy of the model on its own thread). Reentrant so that
/// engines pull weights while nothing else happens; the run grain is the only caller of <see cref="TrainAsync"/>, and
/// a second concurrent update is refused rather than queued. Placed on the silo of its caller, the run grain: a run
/// and its trainer live and die together, and a run that lost its silo resumes both from the latest checkpoint.
/// </summary>
[Reentrant, KeepAlive, Orleans.Placement.PreferLocalPlacement]
public sealed class TrainerGrain(ILogger<TrainerGrain> log, WeightStreamServer streams) : Grain, ITrainerGrain
{
    TrainerHost? host;
    TrainerSettings settings = new();
    bool training;

    public async Task<int> InitializeAsync(TrainerSetup setup)
    {
        if (training) throw new InvalidOperationException("the trainer is updating; it cannot be re-initialised now");
        var settingErrors = SettingErrors(setup.Settings);
        if (settingErrors.Count > 0) throw new ArgumentException(string.Join("; ", settingErrors));
        var options = ToOptions(setup.Settings);
        var errors = options.Validate();
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors));
        if (setup.Settings.WeightChunkBytes is < 1 or > MaxChunkBytes)
            throw new ArgumentException($"WeightChunkBytes must be in 1..{MaxChunkBytes} (Orleans' message limit is 100 MiB), got {setup.Settings.WeightChunkBytes}");
        if (!File.Exists(Path.Combine(setup.ModelDir, "config.json")))
            throw new ArgumentException($"model folder {setup.ModelDir} has no config.json");
        if (host is not null) { await host.DisposeAsync(); host = null; }
        // The model thread's start waits for the native library: keep that off the grain's scheduler.
        host = await Task.Run(() => TrainerHost.StartAsync(setup.ModelDir, options, setup.Version, setup.Settings.TorchThreads, setup.Settings.WeightChunkBytes));
        settings = setup.Settings;
        log.LogInformation("trainer {Run} loaded {Dir} as version {Version} on {Device}", this.GetPrimaryKeyString(), setup.ModelDir,
            setup.Version, host.Device);
        return host.Config.MaxPositionEmbeddings;
    }

    public async Task<TrainStepReport> TrainAsync(string[] treeLines, ulong seed, CancellationToken cancellationToken)
    {
        var h = Host();
        if (training) throw new InvalidOperationException("an update is already running");
        training = true;
        try
        {
            var trees = treeLines.Select((line, i) => TreeJson.Read(line, i + 1)).ToList();
            var samples = TrajectorySamples.Build(trees, h.Version, Advantage(settings), out int empty);
            if (samples.Count == 0) throw new ArgumentException("the step has no trajectory with response tokens to train on");
            var stats = await h.TrainAsync(samples, seed, cancellationToken);
            return new TrainStepReport(h.Version, stats.Samples, stats.Tokens, stats.OptimizerSteps, stats.Loss, stats.ClipFraction,
                stats.DualClipFraction, stats.ApproxKl, stats.GradNorm, stats.LearningRate,
                samples.Average(s => (double)s.Advantage), samples.Average(s => Math.Abs((double)s.Advantage)), empty,
                [.. trees.SelectMany(t => t.Trajectories).Select(t => t.RawAdvantage)],
                [.. trees.SelectMany(t => t.Trajectories).Select(t => t.Advantage)],
                stats.Packed, stats.EngineOldLogProbs, stats.UpdateTokens, stats.UpdatePaddedTokens, stats.UnpackedTokens,
                stats.OldLogProbTokens, stats.Seconds, StepTrees.SegmentAdvantagesOf(trees));
        }
        finally { training = false; }
    }

    public Task<int> GetVersionAsync() => Task.FromResult(Host().Version);

    public async Task<WeightManifest> GetWeightManifestAsync(int version)
    {
        var w = Snapshot(version);
        // Hashed once per published version, off the grain's scheduler (a 2 GB model takes about a second).
        if (digest?.Snapshot != w) digest = (w, Task.Run(() => WeightDigest.Of(w)));
        byte[] hashes = await digest.Value.Hashes;
        return new WeightManifest(w.Version, w.TotalBytes, w.ChunkBytes, w.ChunkCount, w.Header, w.CaptureSeconds, hashes);
    }

    (TreePO.Engine.Checkpoint.WeightSnapshot Snapshot, Task<byte[]> Hashes)? digest;

    public Task<WeightChunk> GetWeightChunkAsync(int version, int index, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var w = Snapshot(version);
        if (index < 0 || index >= w.ChunkCount)
            throw new ArgumentOutOfRangeException(nameof(index), $"version {version} has {w.ChunkCount} chunks, not a chunk {index}");
        return Task.FromResult(new WeightChunk(version, index, w.Chunk(index)));
    }

    public Task<WeightStreamOffer?> OfferWeightStreamAsync(int version)
    {
        var w = Snapshot(version);
        var offer = streams.Offer(w);   // the stream serves this snapshot even if an update publishes the next meanwhile
        return Task.FromResult(offer is var (endpoint, token) ? new WeightStreamOffer(version, endpoint.Address.ToString(), endpoint.Port, token) : null);
    }

    /// <summary>The published snapshot of <paramref name="version"/>; fails once the trainer holds another.</summary>
    TreePO.Engine.Checkpoint.WeightSnapshot Snapshot(int version)
    {
        var h = Host();
        int held = h.Version;
        var w = held == version ? h.Published : null;
        if (w is null || w.Version != version)
            throw new InvalidOperationException($"trainer {this.GetPrimaryKeyString()} holds version {held}, not {version}");
        return w;
    }

    /// <summary>The largest weight chunk: well under Orleans' 100 MiB message body limit.</summary>
    public const int MaxChunkBytes = 64 << 20;

    public Task SaveCheckpointAsync(string dir) => Host().SaveAsync(dir);

    public async Task CloseAsync()
    {
        if (host is not null) await host.DisposeAsync();
        host = null;
        DeactivateOnIdle();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (host is not null) await host.DisposeAsync();
        host = null;
    }

    TrainerHost Host() => host ?? throw new InvalidOperationException($"trainer {this.GetPrimaryKeyString()} is not initialised");

    public static TrainerOptions ToOptions(TrainerSettings s) => new()
    {
        LearningRate = s.LearningRate,
        WeightDecay = s.WeightDecay,
        WarmupSteps = s.WarmupSteps,
        MiniBatches = s.MiniBatches,
        GradClip = s.GradClip,
        MicroBatchTokens = s.MicroBatchTokens,
        PieceTokens = s.PieceTokens,
        Loss = new PolicyLossOptions(s.EpsLow, s.EpsHigh, s.DualClip),
        Pack = Packs(s),
        EngineOldLogProbs = s.OldLogProbs.Equals("engine", StringComparison.OrdinalIgnoreCase),
        Device = s.Device,
    };

    /// <summary>Whether the update is tree-packed (both algorithms: GRPO's samples share their prompt and often
    /// their first tokens, and packing them measured about 3x faster; see docs/training.md).</summary>
    public static bool Packs(TrainerSettings s) => s.Packing.ToLowerInvariant() switch
    {
        "on" => true,
        "off" => false,
        _ => throw new ArgumentException($"Trainer:Packing must be on or off, got '{s.Packing}'"),
    };

    /// <summary>The advantage estimator of the settings (<see cref="TrainerSettings.ResolvedAdvantage"/>, no-root).</summary>
    public static TreePO.Core.Advantage.AdvantageOptions Advantage(TrainerSettings s) => TrajectorySamples.AdvantageFor(s.ResolvedAdvantage, s.NoRoot);

    /// <summary>The settings' own errors beyond the engine options': packing, old log-prob source, advantage.</summary>
    public static IReadOnlyList<string> SettingErrors(TrainerSettings s)
    {
        var errors = new List<string>();
        if (s.Packing.ToLowerInvariant() is not ("on" or "off"))
            errors.Add($"Trainer:Packing must be on or off, got '{s.Packing}'");
        if (s.OldLogProbs.ToLowerInvariant() is not ("engine" or "recompute"))
            errors.Add($"Trainer:OldLogProbs must be engine or recompute, got '{s.OldLogProbs}'");
        try { Advantage(s); }
        catch (ArgumentException e) { errors.Add($"Advantage:Estimator: {e.Message}"); }
        return errors;
    }
}
