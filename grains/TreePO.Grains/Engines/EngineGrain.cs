using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using TreePO.Engine.Checkpoint;
using Orleans.Placement;
using Orleans.Runtime;
using TreePO.Core.Protocol;
using TreePO.Grains.Placement;
using TreePO.Grains.Routing;
using TreePO.Grains.Training;
using TreePO.Grains.WeightStream;

namespace TreePO.Grains.Engines;

/// <summary>
/// A thin, reentrant facade over one device's engine: every call goes straight to the backend, which batches the
/// calls that are in flight together on its model thread. A request that fails (bad input, cancellation) fails alone.
/// At most <see cref="EngineQueueLimit.MaxQueuedRequests"/> requests reach the backend at once; the others wait here
/// (backpressure, an async wait that a cancelled caller leaves), counted as load for routing.
/// </summary>
[SiloPinnedPlacement, Reentrant, KeepAlive, Immovable]
public sealed class EngineGrain(
    ILocalSiloDetails local, LocalDevices devices, IEngineBackendFactory factory, EngineLoadBoard board, ILogger<EngineGrain> log,
    EngineQueueLimit queueLimit)
    : Grain, IEngineGrain
{
    IEngineBackend? backend;
    string key = "";
    long requests, failed, cancelled;
    int inFlight, maxInFlight, queued;
    readonly SemaphoreSlim admission = new(queueLimit.MaxQueuedRequests, queueLimit.MaxQueuedRequests);
    readonly Dictionary<string, long> bySilo = [];
    readonly Dictionary<string, int> liveNodesByTree = [];   // trees holding KV here, for routing
    // Distinct trees served, counted through a set that is emptied into the count when it grows large: a silo that
    // serves for days keeps a bounded set (a tree that spans an emptying counts twice).
    readonly HashSet<string> treesServed = [];
    long treesServedBefore;
    const int TreesServedSetLimit = 1 << 16;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        key = this.GetPrimaryKeyString();
        if (!SiloKey.ParseSilo(key).Equals(local.SiloAddress))
            throw new InvalidOperationException($"engine {key} activated on the wrong silo {local.SiloAddress}");
        int device = SiloKey.ParseDevice(key);
        if (device >= devices.Count)
            throw new InvalidOperationException($"engine {key}: this silo has {devices.Count} device(s)");
        backend = await factory.CreateAsync(device, cancellationToken);
        log.LogInformation("engine {Engine} loaded (max sequence length {MaxSequenceLength}, {Slots} KV slots)", key, backend.MaxSequenceLength,
            backend.GetCounters().Slots);
        Publish();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        board.Remove(key);
        if (backend is not null) await backend.DisposeAsync();
    }

    public async Task<SegmentResult> GenerateAsync(SegmentRequest request, string? weightsFrom, string callerSilo, CancellationToken cancellationToken)
    {
        var engine = backend ?? throw new InvalidOperationException($"engine {key} is not loaded");
        requests++;
        // Behind the version the tree asks for, and told where it is published: catch up first (one pull however many
        // requests wait for it), as an engine that joined, or was activated again, after the run's last sync.
        if (weightsFrom is { } trainer && request.PolicyVersion >= 0
            && (request.PolicyVersion > engine.PolicyVersion || (request.PolicyVersion == engine.PolicyVersion && heldFrom != trainer)))
        {
            log.LogInformation("engine {Engine} holds version {Held}; a request asks for {Version}: pulling it from {Trainer}",
                key, engine.PolicyVersion, request.PolicyVersion, trainer);
            await SyncWeightsAsync(trainer, request.PolicyVersion, force: false, cancellationToken);
        }
        try
        {
            Validate(request, engine.MaxSequenceLength);
            // A tree of a new step never gets an answer from old weights (nor the reverse).
            // (An ArgumentException on the wire: the engine's own exception type has no Orleans codec.)
            if (request.PolicyVersion >= 0 && request.PolicyVersion != engine.PolicyVersion)
                throw new ArgumentException(new TreePO.Engine.PolicyVersionMismatchException(request.PolicyVersion, engine.PolicyVersion).Message);
            // Versions count per run: run B's version 3 is not run A's (another sync may have swapped runs meanwhile).
            if (request.PolicyVersion >= 0 && weightsFrom is { } run && heldFrom is { } holder && holder != run)
                throw new ArgumentException(
                    $"tree {request.TreeId} expects policy version {request.PolicyVersion} of run '{run}'; engine {key} holds version {engine.PolicyVersion} of run '{holder}'");
        }
        catch { failed++; throw; }
        bySilo[callerSilo] = bySilo.GetValueOrDefault(callerSilo) + 1;
        if (treesServed.Add(request.TreeId) && treesServed.Count >= TreesServedSetLimit)
        {
            treesServedBefore += treesServed.Count;
            treesServed.Clear();
        }
        await AdmitAsync(cancellationToken);
        inFlight++;
        maxInFlight = Math.Max(maxInFlight, inFlight);
        Publish();
        try
        {
            var result = await engine.GenerateAsync(request, cancellationToken);
            if (cancellationToken.IsCancellationRequested)
                throw new OperationCanceledException(cancellationToken);   // the caller gave up: drop the nodes below
            liveNodesByTree[request.TreeId] = liveNodesByTree.GetValueOrDefault(request.TreeId) + result.Branches.Length;
            return result;
        }
        catch (TreePO.Engine.PolicyVersionMismatchException e)
        {
            failed++;   // the weights changed while the request waited
            throw new ArgumentException(e.Message);
        }
        catch (OperationCanceledException)
        {
            cancelled++;
            // Nobody will continue or release these nodes: free whatever KV the engine kept for them.
            await engine.ReleaseAsync(request.ChildNodeIds, CancellationToken.None);
            throw;
        }
        catch
        {
            failed++;
            throw;
        }
        finally
        {
            inFlight--;
            admission.Release();
            Publish();
        }
    }

    /// <summary>Waits for room in the backend's queue; a caller that gives up meanwhile is counted as cancelled.</summary>
    async Task AdmitAsync(CancellationToken cancellationToken)
    {
        if (admission.Wait(0)) return;
        queued++;
        Publish();
        try { await admission.WaitAsync(cancellationToken); }
        catch (OperationCanceledException) { cancelled++; throw; }
        finally
        {
            queued--;
            Publish();
        }
    }

    public async Task ReleaseAsync(string treeId, string[] nodeIds)
    {
        if (backend is null || nodeIds.Length == 0) return;
        await backend.ReleaseAsync(nodeIds, CancellationToken.None);
        int left = liveNodesByTree.GetValueOrDefault(treeId) - nodeIds.Length;
        if (left > 0) liveNodesByTree[treeId] = left;
        else liveNodesByTree.Remove(treeId);
        Publish();
    }

    public async Task<int> SyncWeightsAsync(string trainer, int version, bool force, CancellationToken cancellationToken) =>
        (await SyncWeightsWithReportAsync(trainer, version, new WeightSyncOptions(force), cancellationToken)).Version;

    public async Task<WeightSyncReport> SyncWeightsWithReportAsync(string trainer, int version, WeightSyncOptions options, CancellationToken cancellationToken)
    {
        var engine = backend ?? throw new InvalidOperationException($"engine {key} is not loaded");
        if (options.Path is not (WeightSyncOptions.Auto or WeightSyncOptions.Socket or WeightSyncOptions.Chunks))
            throw new ArgumentException($"unknown weight sync path '{options.Path}' (expected auto, socket or chunks)");
        await syncGate.WaitAsync(cancellationToken);
        try
        {
            if (!options.Force && heldFrom == trainer && engine.PolicyVersion == version)
            {
                // Nothing to receive, so nothing to re-serve: this engine's children pull from the trainer.
                if (options.Relay is { Children: > 0 } plan) Receiver.RefuseRelay(plan.Round, $"engine {key} already held version {version}");
                return new WeightSyncReport(key, version, options.Path, 0, 0, 0, 0, 0, 0, 0, 0, Skipped: true);
            }
            var source = GrainFactory.GetGrain<TreePO.Grains.Training.ITrainerGrain>(trainer);
            WeightSyncReport report;
            try { report = await Receiver.PullAsync(engine, trainer, source, version, options, cancellationToken); }
            catch (Exception e) when (options.Relay is { Children: > 0 })
            {
                Receiver.RefuseRelay(options.Relay.Round, $"engine {key} could not pull version {version} ({e.Message})");   // its children need not wait
                throw;
            }
            liveNodesByTree.Clear();
            heldFrom = trainer;
            log.LogInformation("engine {Engine} holds version {Version} from {Trainer} ({Bytes} bytes, {Path}, {Seconds:F2} s)",
                key, version, trainer, report.Bytes, report.Path, report.TotalSeconds);
            Publish();
            return WeightSyncMeters.Record(report with { Version = engine.PolicyVersion });
        }
        finally { syncGate.Release(); }
    }

    async Task<WeightStreamOffer?> RelayOfferAsync(string parent, string round, string trainer, int version, long totalBytes)
    {
        try
        {
            var offer = await GrainFactory.GetGrain<IEngineGrain>(parent).OfferRelayAsync(round, trainer, version, totalBytes);
            if (offer is null) log.LogInformation("engine {Engine}: engine {Parent} relays nothing of round {Round}; pulling from the trainer", key, parent, round);
            return offer;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogWarning("engine {Engine}: engine {Parent} could not offer a relay ({Error}); pulling from the trainer", key, parent, e.Message);
            return null;
        }
    }

    public Task<WeightStreamOffer?> OfferRelayAsync(string round, string trainer, int version, long totalBytes) =>
        Task.FromResult(Receiver.OfferRelay(round, version, totalBytes));

    readonly SemaphoreSlim syncGate = new(1, 1);
    EngineWeightReceiver? receiver;
    EngineWeightReceiver Receiver => receiver ??= new EngineWeightReceiver(key, log, ServiceProvider.GetService<WeightStreamServer>(), RelayOfferAsync);
    string? heldFrom;   // the trainer whose versions the engine holds

    public Task<EngineLoad> GetLoadAsync() => Task.FromResult(Load());

    public Task<EngineStats> GetStatsAsync()
    {
        var engine = backend ?? throw new InvalidOperationException($"engine {key} is not loaded");
        return Task.FromResult(new EngineStats(
            key, requests, failed, cancelled, inFlight, maxInFlight, (int)Math.Min(int.MaxValue, treesServedBefore + treesServed.Count),
            new Dictionary<string, long>(bySilo), engine.GetCounters(), engine.MaxSequenceLength, queued, queueLimit.MaxQueuedRequests));
    }

    EngineLoad Load()
    {
        var c = backend?.GetCounters();
        return new EngineLoad(key, inFlight + queued, c?.QueueDepth ?? 0, c?.ActiveSequences ?? 0, c?.FreeKvBytes ?? 0, liveNodesByTree.Count);
    }

    void Publish() => board.Update(Load());

    static void Validate(SegmentRequest r, int maxSequenceLength)
    {
        if (r.Context.Length + r.MaxTokens > maxSequenceLength)
            throw new ArgumentException(
                $"tree {r.TreeId}: a context of {r.Context.Length} tokens plus a segment of {r.MaxTokens} " +
                $"exceeds the model's context of {maxSequenceLength} tokens");
        if (r.ChildNodeIds.Length == 0) throw new ArgumentException($"tree {r.TreeId}: a segment request needs at least one child node id");
        if (r.MaxTokens <= 0) throw new ArgumentException($"tree {r.TreeId}: MaxTokens must be positive, got {r.MaxTokens}");
        if (r.Context.Length == 0) throw new ArgumentException($"tree {r.TreeId}: empty context");
        if (r.ParentTokenCount < 0 || r.ParentTokenCount > r.Context.Length)
            throw new ArgumentException($"tree {r.TreeId}: ParentTokenCount {r.ParentTokenCount} outside the context of {r.Context.Length} tokens");
    }
}
