using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Placement;
using Orleans.Runtime;
using TreePO.Grains.Placement;
using TreePO.Grains.Routing;

namespace TreePO.Grains.Engines;

/// <summary>
/// A thin, reentrant facade over one device's engine: every call goes straight to the backend, which batches the
/// calls that are in flight together on its model thread. A request that fails (bad input, cancellation) fails alone.
/// </summary>
[SiloPinnedPlacement, Reentrant, KeepAlive, Immovable]
public sealed class EngineGrain(
    ILocalSiloDetails local, LocalDevices devices, IEngineBackendFactory factory, EngineLoadBoard board, ILogger<EngineGrain> log)
    : Grain, IEngineGrain
{
    IEngineBackend? backend;
    string key = "";
    long requests, failed, cancelled;
    int inFlight, maxInFlight;
    readonly Dictionary<string, long> bySilo = [];
    readonly Dictionary<string, int> liveNodesByTree = [];   // trees holding KV here, for routing
    readonly HashSet<string> treesServed = [];

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        key = this.GetPrimaryKeyString();
        if (!SiloKey.ParseSilo(key).Equals(local.SiloAddress))
            throw new InvalidOperationException($"engine {key} activated on the wrong silo {local.SiloAddress}");
        int device = SiloKey.ParseDevice(key);
        if (device >= devices.Count)
            throw new InvalidOperationException($"engine {key}: this silo has {devices.Count} device(s)");
        backend = await factory.CreateAsync(device, cancellationToken);
        log.LogInformation("engine {Engine} loaded (max context {MaxContext})", key, backend.GetCounters().MaxContext);
        Publish();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        board.Remove(key);
        if (backend is not null) await backend.DisposeAsync();
    }

    public async Task<SegmentResultMessage> GenerateAsync(SegmentRequestMessage request, string callerSilo, CancellationToken cancellationToken)
    {
        var engine = backend ?? throw new InvalidOperationException($"engine {key} is not loaded");
        requests++;
        // Behind the version the tree asks for, and told where it is published: catch up first (one pull however many
        // requests wait for it), as an engine that joined, or was activated again, after the run's last sync.
        if (request.WeightsFrom is { } trainer && request.PolicyVersion >= 0
            && (request.PolicyVersion > engine.PolicyVersion || (request.PolicyVersion == engine.PolicyVersion && weightsFrom != trainer)))
        {
            log.LogInformation("engine {Engine} holds version {Held}; a request asks for {Version}: pulling it from {Trainer}",
                key, engine.PolicyVersion, request.PolicyVersion, trainer);
            await SyncWeightsAsync(trainer, request.PolicyVersion, force: false, cancellationToken);
        }
        try
        {
            Validate(request, engine.GetCounters().MaxContext);
            // A tree of a new step never gets an answer from old weights (nor the reverse).
            // (An ArgumentException on the wire: the engine's own exception type has no Orleans codec.)
            if (request.PolicyVersion >= 0 && request.PolicyVersion != engine.PolicyVersion)
                throw new ArgumentException(new TreePO.Engine.PolicyVersionMismatchException(request.PolicyVersion, engine.PolicyVersion).Message);
        }
        catch { failed++; throw; }
        bySilo[callerSilo] = bySilo.GetValueOrDefault(callerSilo) + 1;
        treesServed.Add(request.TreeId);
        inFlight++;
        maxInFlight = Math.Max(maxInFlight, inFlight);
        Publish();
        try
        {
            var result = await engine.GenerateAsync(request.ToCore(), cancellationToken);
            if (cancellationToken.IsCancellationRequested)
                throw new OperationCanceledException(cancellationToken);   // the caller gave up: drop the nodes below
            liveNodesByTree[request.TreeId] = liveNodesByTree.GetValueOrDefault(request.TreeId) + result.Branches.Length;
            return result.ToMessage();
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

    public async Task<int> SyncWeightsAsync(string trainer, int version, bool force, CancellationToken cancellationToken)
    {
        var engine = backend ?? throw new InvalidOperationException($"engine {key} is not loaded");
        await syncGate.WaitAsync(cancellationToken);
        try
        {
            if (!force && weightsFrom == trainer && engine.PolicyVersion == version) return version;
            var bytes = new MemoryStream();
            await foreach (var chunk in GrainFactory.GetGrain<TreePO.Grains.Training.ITrainerGrain>(trainer)
                .StreamWeightsAsync(version, cancellationToken: cancellationToken).WithBatchSize(1).WithCancellation(cancellationToken))
                bytes.Write(chunk);
            bytes.Position = 0;
            await engine.LoadWeightsAsync(version, bytes, cancellationToken);   // swaps between steps, drops all KV
            liveNodesByTree.Clear();
            weightsFrom = trainer;
            log.LogInformation("engine {Engine} holds version {Version} from {Trainer} ({Bytes} bytes)", key, version, trainer, bytes.Length);
            Publish();
            return engine.PolicyVersion;
        }
        finally { syncGate.Release(); }
    }

    readonly SemaphoreSlim syncGate = new(1, 1);
    string? weightsFrom;

    public Task<EngineLoad> GetLoadAsync() => Task.FromResult(Load());

    public Task<EngineStats> GetStatsAsync() => Task.FromResult(new EngineStats(
        key, requests, failed, cancelled, inFlight, maxInFlight, treesServed.Count, new Dictionary<string, long>(bySilo),
        backend?.GetCounters() ?? throw new InvalidOperationException($"engine {key} is not loaded")));

    EngineLoad Load()
    {
        var c = backend?.GetCounters();
        return new EngineLoad(key, inFlight, c?.QueueDepth ?? 0, c?.LiveSlots ?? 0, c?.FreeKvBytes ?? 0, liveNodesByTree.Count);
    }

    void Publish() => board.Update(Load());

    static void Validate(SegmentRequestMessage r, int maxContext)
    {
        if (r.Context.Length + r.MaxTokens > maxContext)
            throw new ArgumentException(
                $"tree {r.TreeId}: a context of {r.Context.Length} tokens plus a segment of {r.MaxTokens} " +
                $"exceeds the model's context of {maxContext} tokens");
        if (r.ChildNodeIds.Length == 0) throw new ArgumentException($"tree {r.TreeId}: a segment request needs at least one child node id");
        if (r.MaxTokens <= 0) throw new ArgumentException($"tree {r.TreeId}: MaxTokens must be positive, got {r.MaxTokens}");
        if (r.Context.Length == 0) throw new ArgumentException($"tree {r.TreeId}: empty context");
        if (r.ParentTokenCount < 0 || r.ParentTokenCount > r.Context.Length)
            throw new ArgumentException($"tree {r.TreeId}: ParentTokenCount {r.ParentTokenCount} outside the context of {r.Context.Length} tokens");
    }
}
