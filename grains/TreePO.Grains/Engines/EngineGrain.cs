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
        log.LogInformation("engine {Engine} loaded (max sequence length {MaxSequenceLength})", key, backend.MaxSequenceLength);
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
                if (options.Relay is { Children: > 0 } plan) RefuseRelay(plan.Round, $"engine {key} already held version {version}");
                return new WeightSyncReport(key, version, options.Path, 0, 0, 0, 0, 0, 0, 0, 0, Skipped: true);
            }
            var source = GrainFactory.GetGrain<TreePO.Grains.Training.ITrainerGrain>(trainer);
            WeightSyncReport report;
            try { report = await PullStagedAsync(engine, trainer, source, version, options, cancellationToken); }
            catch (Exception e) when (options.Relay is { Children: > 0 })
            {
                RefuseRelay(options.Relay.Round, $"engine {key} could not pull version {version} ({e.Message})");   // its children need not wait
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

    /// <summary>Manifest, then the bytes straight into the backend's staging (one TCP stream from the trainer's silo,
    /// or the trainer's chunks through Orleans <see cref="WeightSyncOptions.Window"/> at a time), then the swap. A
    /// failure anywhere leaves the engine on its old weights. Under "auto", a stream that cannot be had or breaks off
    /// (unreachable, failed handshake, silent peer, cut connection, bytes that fail the hash) is not the end of the
    /// sync: the chunks are pulled afresh through Orleans. In a fan-out tree (<see cref="WeightSyncOptions.Relay"/>)
    /// the parent engine's stream comes first, and a failed one is followed by the trainer's; an engine with children
    /// passes what it receives on through its <see cref="WeightRelay"/> as it arrives.</summary>
    async Task<WeightSyncReport> PullStagedAsync(IEngineBackend engine, string trainer, TreePO.Grains.Training.ITrainerGrain source, int version,
        WeightSyncOptions options, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var manifest = await source.GetWeightManifestAsync(version);
        if (manifest.Version != version) throw new InvalidOperationException($"asked for version {version}, the trainer's manifest is for {manifest.Version}");
        var server = ServiceProvider.GetService<WeightStreamServer>();   // this silo's
        var plan = options.Relay;
        var relay = plan is { Children: > 0 } && server is not null ? RelayFor(plan.Round, version, manifest.TotalBytes) : null;
        relay?.Expect(plan!.Children);
        WeightSink? sink = null;
        try
        {
            string? path = null;
            WeightStreamOffer? upstream = plan?.From is { } parent && options.Path is WeightSyncOptions.Auto or WeightSyncOptions.Socket
                ? await RelayOfferAsync(parent, plan.Round, trainer, version, manifest.TotalBytes) : null;
            double handshake = clock.Elapsed.TotalSeconds;
            if (upstream is not null)
            {
                sink = Relayed(await engine.BeginWeightsAsync(version, manifest.Header, manifest.TotalBytes, ct), relay);
                try
                {
                    await StreamAsync(upstream, manifest, sink, server, ct);
                    path = WeightSyncOptions.Relayed;
                }
                catch (Exception e) when (IsStreamFailure(e) && !ct.IsCancellationRequested)
                {
                    log.LogWarning("engine {Engine}: the relay from engine {Parent} failed after {Bytes} bytes ({Error}); pulling from the trainer",
                        key, plan!.From, sink.ReceivedBytes, e.Message);
                    sink.Dispose();
                    sink = null;
                }
            }
            if (path is null)
            {
                var offer = options.Path is WeightSyncOptions.Auto or WeightSyncOptions.Socket ? await source.OfferWeightStreamAsync(version) : null;
                if (offer is null && options.Path == WeightSyncOptions.Socket)
                    throw new InvalidOperationException("the trainer's silo offers no weight stream (the server is off, or could not listen); use the chunks path");
                // The trainer in this very silo: its token redeems here, and the bytes are a memory copy away.
                var local = offer is not null && options.Path == WeightSyncOptions.Auto && options.AllowLocal ? server?.RedeemLocal(offer.Token) : null;
                if (local is not null || offer is not null)
                    sink = Relayed(await engine.BeginWeightsAsync(version, manifest.Header, manifest.TotalBytes, ct), relay);
                if (upstream is null) handshake = clock.Elapsed.TotalSeconds;
                if (local is not null)
                {
                    var s = sink!;
                    await Task.Run(() =>
                    {
                        if (s is RelayedWeightSink)   // a relay takes its bytes in order
                            for (int i = 0; i < local.ChunkCount; i++) s.Write((long)i * local.ChunkBytes, local.Chunk(i));
                        else
                            Parallel.For(0, local.ChunkCount, new ParallelOptions { CancellationToken = ct }, i => s.Write((long)i * local.ChunkBytes, local.Chunk(i)));
                    }, ct);
                    path = WeightSyncOptions.Local;
                }
                else if (offer is not null)
                {
                    try
                    {
                        await StreamAsync(offer, manifest, sink!, server, ct);
                        path = WeightSyncOptions.Socket;
                    }
                    catch (Exception e) when (IsStreamFailure(e) && options.Path == WeightSyncOptions.Auto && !ct.IsCancellationRequested)
                    {
                        log.LogWarning("engine {Engine}: the weight stream from {Host}:{Port} failed after {Bytes} bytes ({Error}); pulling chunks",
                            key, offer.Host, offer.Port, sink!.ReceivedBytes, e.Message);
                        // Pieces already placed would count twice: start from a fresh staging.
                        sink.Dispose();
                        sink = null;
                    }
                }
                if (path is null)
                {
                    // Chunks arrive in any order: no relay; this engine's children pull from the trainer.
                    relay?.Fail(new IOException($"engine {key} pulls Orleans chunks"));
                    sink?.Dispose();
                    sink = null;
                    sink = await engine.BeginWeightsAsync(version, manifest.Header, manifest.TotalBytes, ct);
                    await WeightPull.RunAsync(source, manifest, sink, options.Window, ct);
                    path = WeightSyncOptions.Chunks;
                }
            }
            double transfer = clock.Elapsed.TotalSeconds - handshake;
            var own = sink is RelayedWeightSink relayed ? relayed.Inner : sink!;
            await engine.CommitWeightsAsync(own, ct);   // swaps between steps, drops all KV
            double total = clock.Elapsed.TotalSeconds;
            return new WeightSyncReport(key, version, path, manifest.TotalBytes, path == WeightSyncOptions.Chunks ? manifest.ChunkCount : 1, handshake, transfer,
                own.WriteTime.TotalSeconds, total - handshake - transfer, total, manifest.CaptureSeconds);
        }
        catch (Exception e)
        {
            relay?.Fail(e);
            throw;
        }
        finally { sink?.Dispose(); }
    }

    static WeightSink Relayed(WeightSink sink, WeightRelay? relay) => relay is null ? sink : new RelayedWeightSink(sink, relay);

    static Task StreamAsync(WeightStreamOffer offer, WeightManifest manifest, WeightSink sink, WeightStreamServer? server, CancellationToken ct)
    {
        var tls = server?.Tls;   // the cluster's certificate, under TLS
        var stall = server?.StallTimeout;
        return Task.Run(() => WeightStreamClient.RunAsync(offer, manifest, sink, tls, ct, stall), ct);   // off the grain's turn: only the sink and the socket
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

    public Task<WeightStreamOffer?> OfferRelayAsync(string round, string trainer, int version, long totalBytes)
    {
        var server = ServiceProvider.GetService<WeightStreamServer>();
        var r = server is null ? null : RelayFor(round, version, totalBytes);
        var offer = r is null ? null : server!.OfferRelay(r);
        return Task.FromResult(offer is var (endpoint, token) ? new WeightStreamOffer(version, endpoint.Address.ToString(), endpoint.Port, token) : null);
    }

    /// <summary>The relay of fan-out round <paramref name="round"/>, made by whichever comes first, the engine's own
    /// sync or a child asking for it; null for a round this engine does not relay (it held the version already, or
    /// the child's manifest differs).</summary>
    WeightRelay? RelayFor(string round, int version, long totalBytes)
    {
        if (round == refusedRound) return null;
        if (relay?.Round == round) return relay.Version == version && relay.TotalBytes == totalBytes ? relay : null;
        relay?.Fail(new IOException($"engine {key} moved on to fan-out round {round}"));
        relay = new WeightRelay(round, version, totalBytes, ServiceProvider.GetService<WeightStreamServer>()?.StallTimeout ?? WeightStreamServer.DefaultStallTimeout);
        return relay;
    }

    void RefuseRelay(string round, string why)
    {
        if (relay?.Round == round) relay.Fail(new IOException(why));
        refusedRound = round;
    }

    // The relay of the latest fan-out round this engine took part in (kept until the next: a child may still read it).
    WeightRelay? relay;
    string? refusedRound;

    /// <summary>The stream broke, as opposed to the pull being cancelled: worth trying the chunks instead.</summary>
    static bool IsStreamFailure(Exception e) => e is System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException
        or IOException or TimeoutException or InvalidDataException or InvalidOperationException;

    readonly SemaphoreSlim syncGate = new(1, 1);
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
