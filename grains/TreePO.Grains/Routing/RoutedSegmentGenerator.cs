using Orleans.Runtime;
using TreePO.Core.Protocol;
using TreePO.Grains.Engines;

namespace TreePO.Grains.Routing;

/// <summary>
/// The engine as one tree sees it: an <see cref="ISegmentGenerator"/> that sends each request to the tree's engine
/// grain. The tree keeps its engine (its KV lives there) and moves only when that engine fails: silo gone,
/// placement refused, or stuck. A slow engine is not a dead one: when a request outlasts
/// <see cref="RoutingOptions.SegmentTimeout"/>, the engine's liveness is checked (its silo active, its step counter
/// still moving over a short probe window); an engine that is busy with other work keeps the request, only a gone or
/// stalled one loses it. Then the request goes to another engine with its full context, so no finished segment is
/// lost; the prefix the new engine recomputes is counted. An engine that failed is avoided while the cluster has
/// others, but the tree returns to it when it is the only one left. Errors that belong to the request itself (a
/// prompt too long, bad arguments) fail it without moving.
/// Meant for one tree: single caller, concurrent requests allowed.
/// </summary>
public sealed class RoutedSegmentGenerator(EngineRouter router, IGrainFactory grains, string treeId,
    string? weightsFrom = null)
    : ISegmentGenerator
{
    readonly object gate = new();
    readonly HashSet<string> failed = [];
    readonly Dictionary<string, string> nodeEngine = [];   // node id -> engine holding its KV
    readonly List<string> enginesUsed = [];
    EngineAddress? current;
    Task<EngineAddress>? picking;
    int requests, failovers, retried, slowWaits;
    long recomputed, prefill, decode, reused;

    public RoutingStats Stats
    {
        get { lock (gate) return new RoutingStats(requests, failovers, retried, recomputed, prefill, decode, reused, [.. enginesUsed], slowWaits); }
    }

    public async Task<SegmentResult> GenerateAsync(SegmentRequest request, CancellationToken cancellationToken = default)
    {
        Exception? last = null;
        int attempts = router.Options.MaxAttempts;
        for (int attempt = 1; attempt <= attempts; attempt++)
        {
            EngineAddress engine;
            try { engine = await EngineAsync(cancellationToken); }
            catch (NoEngineAvailableException e) when (last is not null)
            {
                throw new EngineUnavailableException($"{e.Message}; last engine error: {last.Message}", last);
            }
            if (attempt > 1) lock (gate) retried++;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            SegmentResult result;
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                var call = grains.GetGrain<IEngineGrain>(engine.Key).GenerateAsync(request, weightsFrom, router.LocalSiloKey, timeout.Token);
                if (!await AnsweredOrAliveAsync(call, engine, cancellationToken))
                    timeout.Cancel();   // stalled or gone: give the request up there (the engine frees what it held)
                result = await call;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && IsEngineFailure(e, timeout.IsCancellationRequested))
            {
                last = e is OperationCanceledException
                    ? new TimeoutException($"engine {engine.Key} gave no answer within {router.Options.SegmentTimeout} and is gone or no longer stepping", e)
                    : e;
                Fail(engine);
                continue;
            }
            Record(request, engine, result);
            Trees.TreeMeters.Segment(started);
            return result;
        }
        throw new EngineUnavailableException(
            $"tree {treeId}: segment under node {request.ParentNodeId} failed on {attempts} engine attempts; last: {last?.Message}", last);
    }

    /// <summary>Waits for <paramref name="call"/>: true once it completed (successfully or not); false when it
    /// outlasted the segment timeout and the engine is gone or no longer stepping. While the engine steps (it is
    /// working through a queue), the wait goes on, window after window.</summary>
    async Task<bool> AnsweredOrAliveAsync(Task call, EngineAddress engine, CancellationToken cancellationToken)
    {
        var window = router.Options.SegmentTimeout;
        while (true)
        {
            if (await Task.WhenAny(call, Task.Delay(window, cancellationToken)) == call) return true;
            cancellationToken.ThrowIfCancellationRequested();
            // Progress is the step counter moving over a probe window of LoadProbeTimeout.
            long? before = await router.StepsAsync(engine, cancellationToken);
            bool answered = before is not null && await Task.WhenAny(call, Task.Delay(router.Options.LoadProbeTimeout, cancellationToken)) == call;
            long? after = before is null || answered ? before : await router.StepsAsync(engine, cancellationToken);
            if (!answered && !call.IsCompleted && (after is null || after <= before)) return false;
            lock (gate) slowWaits++;   // outlasted the timeout on a live engine, and the tree kept waiting
            if (call.IsCompleted) return true;
        }
    }

    public Task ReleaseAsync(IReadOnlyCollection<string> nodeIds, CancellationToken cancellationToken = default)
    {
        var byEngine = new Dictionary<string, List<string>>();
        lock (gate)
            foreach (string id in nodeIds)
                if (nodeEngine.Remove(id, out var engine))
                    (byEngine.TryGetValue(engine, out var list) ? list : byEngine[engine] = []).Add(id);
        return ReleaseOnAsync(byEngine);
    }

    /// <summary>Releases every node this tree still holds and unbinds it from its engine: the tree is done.</summary>
    public Task CloseAsync()
    {
        Dictionary<string, List<string>> byEngine;
        lock (gate)
        {
            byEngine = nodeEngine.GroupBy(kv => kv.Value).ToDictionary(g => g.Key, g => g.Select(kv => kv.Key).ToList());
            nodeEngine.Clear();
            if (current is not null) router.Unbind(current.Key);
            current = null;
        }
        return ReleaseOnAsync(byEngine);
    }

    /// <summary>Node ids whose KV this tree believes an engine still holds.</summary>
    public int LiveNodes { get { lock (gate) return nodeEngine.Count; } }

    async Task ReleaseOnAsync(Dictionary<string, List<string>> byEngine)
    {
        var calls = byEngine.Where(kv => !failed.Contains(kv.Key)).Select(async kv =>
        {
            // An engine that is gone has freed its KV with it; nothing to do then.
            try { await grains.GetGrain<IEngineGrain>(kv.Key).ReleaseAsync(treeId, [.. kv.Value]); }
            catch (Exception e) when (IsEngineFailure(e, false)) { }
        });
        await Task.WhenAll(calls);
    }

    Task<EngineAddress> EngineAsync(CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (current is not null) return Task.FromResult(current);
            if (picking is { IsCompleted: false }) return picking;
            // Failed engines are avoided while there are others; with none left, the tree tries them again (the
            // router still probes that they answer) rather than failing for want of an engine.
            var listed = router.Engines;
            HashSet<string> exclude = [.. failed];
            bool retryFailed = listed.Count > 0 && listed.All(e => exclude.Contains(e.Key));
            if (retryFailed) exclude.Clear();
            return picking = PickAsync(exclude, retryFailed, cancellationToken);
        }
    }

    async Task<EngineAddress> PickAsync(HashSet<string> exclude, bool retryFailed, CancellationToken cancellationToken)
    {
        var engine = await router.PickAsync(treeId, exclude, cancellationToken);
        lock (gate)
        {
            // A pick that began before its engine failed does not bind the tree to it, unless failed ones are retried.
            if (current is null && (retryFailed || !failed.Contains(engine.Key)))
            {
                failed.Remove(engine.Key);
                current = engine;
                router.Bind(engine.Key);
                enginesUsed.Add(engine.Key);
            }
            return current ?? engine;
        }
    }

    void Fail(EngineAddress engine)
    {
        lock (gate)
        {
            if (!failed.Add(engine.Key)) return;
            if (current?.Key == engine.Key)
            {
                router.Unbind(engine.Key);
                current = null;
                failovers++;
                Trees.TreeMeters.Failover();
            }
            // Its nodes are lost with it: their requests will prefill elsewhere.
            foreach (var node in nodeEngine.Where(kv => kv.Value == engine.Key).Select(kv => kv.Key).ToList())
                nodeEngine.Remove(node);
        }
    }

    void Record(SegmentRequest request, EngineAddress engine, SegmentResult result)
    {
        lock (gate)
        {
            requests++;
            prefill += result.PrefillTokens;
            decode += result.DecodeTokens;
            reused += result.ReusedTokens;
            // If the parent's KV was computed on another engine, this one prefilled work already done once.
            if (computedOn.TryGetValue(request.ParentNodeId, out var before) && before != engine.Key)
                recomputed += Math.Min(result.PrefillTokens, request.ParentTokenCount);
            else computedOn.TryAdd(request.ParentNodeId, engine.Key);
            foreach (var b in result.Branches)
            {
                nodeEngine[b.NodeId] = engine.Key;
                computedOn[b.NodeId] = engine.Key;
            }
        }
    }

    readonly Dictionary<string, string> computedOn = [];   // node id -> engine that first computed its KV (kept after release)

    /// <summary>Failures of the engine or the way to it, as opposed to errors in the request.</summary>
    static bool IsEngineFailure(Exception e, bool timedOut) => e switch
    {
        OperationCanceledException => timedOut,
        TimeoutException => true,
        OrleansException => true,   // silo unavailable, message rejected, placement refused (silo not active)
        ObjectDisposedException => true,
        _ => false,
    };
}
