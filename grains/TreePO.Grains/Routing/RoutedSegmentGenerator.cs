using Orleans.Runtime;
using TreePO.Core.Protocol;
using TreePO.Grains.Engines;

namespace TreePO.Grains.Routing;

/// <summary>
/// The engine as one tree sees it: an <see cref="ISegmentGenerator"/> that sends each request to the tree's engine
/// grain. The tree keeps its engine (its KV lives there) and moves only when that engine fails: silo gone,
/// placement refused, or no answer within <see cref="RoutingOptions.SegmentTimeout"/>. Then the request goes to
/// another engine with its full context, so no finished segment is lost; the prefix the new engine recomputes is
/// counted. Errors that belong to the request itself (a prompt too long, bad arguments) fail it without moving.
/// Meant for one tree: single caller, concurrent requests allowed.
/// </summary>
public sealed class RoutedSegmentGenerator(EngineRouter router, EngineLoadBoard board, IGrainFactory grains, string treeId,
    string? weightsFrom = null)
    : ISegmentGenerator
{
    readonly object gate = new();
    readonly HashSet<string> failed = [];
    readonly Dictionary<string, string> nodeEngine = [];   // node id -> engine holding its KV
    readonly List<string> enginesUsed = [];
    EngineAddress? current;
    Task<EngineAddress>? picking;
    int requests, failovers, retried;
    long recomputed, prefill, decode, reused;

    public RoutingStats Stats
    {
        get { lock (gate) return new RoutingStats(requests, failovers, retried, recomputed, prefill, decode, reused, [.. enginesUsed]); }
    }

    public async Task<SegmentResult> GenerateAsync(SegmentRequest request, CancellationToken cancellationToken = default)
    {
        var message = request.ToMessage() with { WeightsFrom = weightsFrom };
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
            timeout.CancelAfter(router.Options.SegmentTimeout);
            SegmentResultMessage result;
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                result = await grains.GetGrain<IEngineGrain>(engine.Key)
                    .GenerateAsync(message, router.LocalSiloKey, timeout.Token);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && IsEngineFailure(e, timeout.IsCancellationRequested))
            {
                last = e is OperationCanceledException
                    ? new TimeoutException($"engine {engine.Key} gave no answer within {router.Options.SegmentTimeout}", e)
                    : e;
                Fail(engine);
                continue;
            }
            Record(request, engine, result);
            Trees.TreeMeters.Segment(started);
            return result.ToCore();
        }
        throw new EngineUnavailableException(
            $"tree {treeId}: segment under node {request.ParentNodeId} failed on {attempts} engine attempts; last: {last?.Message}", last);
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
            if (current is not null) board.Unbind(current.Key);
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
            HashSet<string> exclude = [.. failed];
            return picking = PickAsync(exclude, cancellationToken);
        }
    }

    async Task<EngineAddress> PickAsync(HashSet<string> exclude, CancellationToken cancellationToken)
    {
        var engine = await router.PickAsync(treeId, exclude, cancellationToken);
        lock (gate)
        {
            if (current is null && !failed.Contains(engine.Key))
            {
                current = engine;
                board.Bind(engine.Key);
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
                board.Unbind(engine.Key);
                current = null;
                failovers++;
                Trees.TreeMeters.Failover();
            }
            // Its nodes are lost with it: their requests will prefill elsewhere.
            foreach (var node in nodeEngine.Where(kv => kv.Value == engine.Key).Select(kv => kv.Key).ToList())
                nodeEngine.Remove(node);
        }
    }

    void Record(SegmentRequest request, EngineAddress engine, SegmentResultMessage result)
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

/// <summary>A tree's request could not be served by any engine.</summary>
[GenerateSerializer, Alias("treepo.engine-unavailable")]
public sealed class EngineUnavailableException : Exception
{
    public EngineUnavailableException(string message, Exception? inner) : base(message, inner) { }
}
