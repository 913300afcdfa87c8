using TreePO.Core.Trees;
using System.Collections.Concurrent;
using TorchSharp;
using TreePO.Core.Protocol;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Kv;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using TreePO.Engine.Sampling;
using TreePO.Engine.Scheduling;
using static TorchSharp.torch;

namespace TreePO.Engine;

/// <summary>
/// Serves segment requests for one model on one device. One dedicated model thread (TorchSharp's dispose scopes and
/// grad mode are thread-local) runs a loop fed by a command queue: it admits waiting requests when slots and KV budget
/// allow, then runs one step over every running sequence at once (continuous batching: decode tokens of all running
/// branches plus up to <see cref="EngineOptions.PrefillChunk"/> context tokens), samples, and completes the requests
/// whose branches all finished. Callers only ever await.
/// </summary>
public sealed class InferenceEngine : ISegmentGenerator, IAsyncDisposable
{
    readonly EngineOptions options;
    readonly Qwen2Model model;
    readonly KvCache cache;
    readonly KvPool pool;
    readonly HashSet<int> eos;
    readonly int maxLength;
    readonly BlockingCollection<Action> commands = new();
    readonly object postGate = new();
    readonly Thread thread;
    readonly TaskCompletionSource stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly LinkedList<RequestState> waiting = new();
    readonly List<RequestState> running = [];
    readonly TreePriority priority = new(TimeSpan.FromSeconds(2));
    static readonly TimeSpan StallWait = TimeSpan.FromMilliseconds(50);
    long arrivals;
    volatile int policyVersion;
    volatile EngineStats stats;
    bool closed, stopping;
    int disposed;
    long prefilled, decoded, reused, steps, batchSum, forkCopies, completed, failed;
    int maxBatch;

    InferenceEngine(Qwen2Model model, EngineOptions options)
    {
        this.options = options;
        this.model = model;
        var c = model.Config;
        maxLength = options.MaxSequenceLength > 0
            ? Math.Min(options.MaxSequenceLength, c.MaxPositionEmbeddings)
            : Math.Min(c.MaxPositionEmbeddings, 4096);
        cache = new KvCache(c, options.MaxSlots, maxLength, model.Device);
        pool = new KvPool(options.MaxSlots, options.KvBudgetBytes, cache.BytesPerToken);
        eos = [.. options.EosTokenIds ?? c.EosTokenIds];
        stats = Snapshot();
        thread = new Thread(Run) { IsBackground = true, Name = "treepo-engine" };
        thread.Start();
    }

    /// <summary>Loads config.json and the weights from <see cref="EngineOptions.ModelPath"/> and starts the model thread.</summary>
    public static InferenceEngine Load(EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (string.IsNullOrWhiteSpace(options.ModelPath)) throw new ArgumentException("EngineOptions.ModelPath is empty");
        TorchRuntime.EnsureLoaded();
        var device = ParseDevice(options.Device);
        ConfigureThreads(options.Threads);
        return new InferenceEngine(Qwen2Checkpoint.Load(options.ModelPath, device), options);
    }

    /// <summary>Serves an already built model (benchmarks, trainers' tests); the engine takes ownership of it.
    /// <see cref="EngineOptions.ModelPath"/> and <see cref="EngineOptions.Device"/> are ignored.</summary>
    public static InferenceEngine Create(Qwen2Model model, EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        TorchRuntime.EnsureLoaded();
        ConfigureThreads(options.Threads);
        return new InferenceEngine(model, options);
    }

    static Device ParseDevice(string name)
    {
        Device d;
        try
        {
            d = device(name);
        }
        catch (Exception e)
        {
            throw new ArgumentException($"EngineOptions.Device '{name}' is not a device name (try \"cpu\" or \"cuda:0\"): {e.Message}", e);
        }
        if (d.type == DeviceType.CUDA && !cuda.is_available())
            throw new ArgumentException($"EngineOptions.Device is '{name}', but CUDA is not available in this process");
        return d;
    }

    static void ConfigureThreads(int threads) => set_num_threads(threads > 0 ? threads : Environment.ProcessorCount);

    public int PolicyVersion => policyVersion;
    public Qwen2Config Config => model.Config;
    /// <summary>The longest path (context + segment) a slot holds.</summary>
    public int MaxSequenceLength => maxLength;
    public IReadOnlySet<int> EosTokenIds => eos;
    public EngineStats GetStats() => stats;

    public Task<SegmentResult> GenerateAsync(SegmentRequest request, CancellationToken cancellationToken = default)
    {
        try
        {
            Validate(request);
        }
        catch (ArgumentException e)
        {
            return Task.FromException<SegmentResult>(e);
        }
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<SegmentResult>(cancellationToken);
        var state = new RequestState(request, cancellationToken);
        if (!Post(() => Enqueue(state)))
            return Task.FromException<SegmentResult>(new ObjectDisposedException(nameof(InferenceEngine)));
        if (cancellationToken.CanBeCanceled)
            state.Registration = cancellationToken.Register(() => Post(() => Cancel(state)));
        return state.Completion.Task;
    }

    public Task ReleaseAsync(IReadOnlyCollection<string> nodeIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(nodeIds);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!Post(() =>
            {
                foreach (string id in nodeIds)
                    if (id is not null) pool.Release(id);
                stats = Snapshot();
                done.TrySetResult();
            }))
            return Task.FromException(new ObjectDisposedException(nameof(InferenceEngine)));
        return done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Replaces the weights with a safetensors state dict (HF key names, any float dtype) between two steps,
    /// then drops all cached KV. Running requests restart under the new weights, or fail if they asked for the old
    /// version explicitly. A bad stream (missing key, wrong shape) fails this call and leaves the weights as they were.</summary>
    public async Task LoadWeightsAsync(int version, Stream safetensors, CancellationToken cancellationToken = default)
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
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!Post(() => SwapWeights(version, () => Qwen2Checkpoint.LoadWeights(model, source, $"weights of version {version}"), done)))
                throw new ObjectDisposedException(nameof(InferenceEngine));
            await done.Task;
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

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            await stopped.Task;
            return;
        }
        Post(() => stopping = true);
        await stopped.Task;
    }

    bool Post(Action command)
    {
        lock (postGate)
        {
            if (closed) return false;
            commands.Add(command);
            return true;
        }
    }

    void Validate(SegmentRequest r)
    {
        ArgumentNullException.ThrowIfNull(r, "request");
        var c = model.Config;
        if (r.Context is null || r.Context.Length == 0) throw new ArgumentException("SegmentRequest.Context is empty: there is nothing to continue", "request");
        int n = r.Context.Length;
        for (int i = 0; i < n; i++)
            if ((uint)r.Context[i] >= (uint)c.VocabSize)
                throw new ArgumentException($"SegmentRequest.Context[{i}] = {r.Context[i]} is outside the vocabulary [0, {c.VocabSize})", "request");
        if (n >= c.MaxPositionEmbeddings)
            throw new ArgumentException($"SegmentRequest.Context has {n} tokens; the model's max_position_embeddings is {c.MaxPositionEmbeddings}, which leaves no room for a new token", "request");
        if (n >= maxLength)
            throw new ArgumentException($"SegmentRequest.Context has {n} tokens; this engine's MaxSequenceLength is {maxLength}, which leaves no room for a new token", "request");
        if (r.MaxTokens <= 0) throw new ArgumentException($"SegmentRequest.MaxTokens must be positive, got {r.MaxTokens}", "request");
        if (r.ChildNodeIds is null || r.ChildNodeIds.Length == 0) throw new ArgumentException("SegmentRequest.ChildNodeIds is empty: a request needs at least one branch", "request");
        for (int i = 0; i < r.ChildNodeIds.Length; i++)
            if (string.IsNullOrEmpty(r.ChildNodeIds[i])) throw new ArgumentException($"SegmentRequest.ChildNodeIds[{i}] is null or empty", "request");
        if (r.ChildNodeIds.Distinct(StringComparer.Ordinal).Count() != r.ChildNodeIds.Length)
            throw new ArgumentException("SegmentRequest.ChildNodeIds has duplicates", "request");
        if (r.Branches > options.MaxSlots)
            throw new ArgumentException($"SegmentRequest has {r.Branches} branches; this engine has only {options.MaxSlots} slots (EngineOptions.MaxSlots)", "request");
        if (r.ParentTokenCount < 0 || r.ParentTokenCount > n)
            throw new ArgumentException($"SegmentRequest.ParentTokenCount {r.ParentTokenCount} is outside [0, {n}] (the context length)", "request");
        var s = r.Sampling ?? throw new ArgumentException("SegmentRequest.Sampling is null", "request");
        if (!float.IsFinite(s.Temperature) || s.Temperature < 0) throw new ArgumentException($"SamplingParams.Temperature must be finite and >= 0, got {s.Temperature}", "request");
        if (float.IsNaN(s.TopP) || s.TopP <= 0) throw new ArgumentException($"SamplingParams.TopP must be in (0, 1] (1 = off), got {s.TopP}", "request");
        if (r.PolicyVersion >= 0 && r.PolicyVersion != policyVersion) throw new PolicyVersionMismatchException(r.PolicyVersion, policyVersion);
        long need = (long)r.Branches * Capacity(r) * cache.BytesPerToken;
        if (need > options.KvBudgetBytes)
            throw new ArgumentException($"SegmentRequest needs {need} bytes of KV ({r.Branches} branches x {Capacity(r)} tokens x {cache.BytesPerToken} bytes), more than EngineOptions.KvBudgetBytes = {options.KvBudgetBytes}", "request");
    }

    int MaxNew(SegmentRequest r) => Math.Min(r.MaxTokens, maxLength - r.Context.Length);

    /// <summary>Rows one branch may write: the context and every sampled token but the last (fed by the next request).</summary>
    int Capacity(SegmentRequest r) => r.Context.Length + MaxNew(r) - 1;

    // ---------------------------------------------------------------- model thread

    void Run()
    {
        using var noGrad = no_grad();
        while (!stopping)
        {
            try
            {
                if (running.Count == 0 && waiting.Count == 0) commands.Take()();
                while (commands.TryTake(out var command)) command();
                if (stopping) break;
                Admit();
                if (running.Count > 0) Step();
                else if (waiting.Count > 0)
                {
                    // Nothing fits and nothing runs: the trees whose nodes fill the cache are about to send their
                    // next round or release. Give them a moment; then the first request goes in at any cost.
                    if (commands.TryTake(out var command, StallWait)) command();
                    else Force();
                }
            }
            catch (Exception e)
            {
                // A bug or a native failure in one step: fail what was running, keep serving.
                foreach (var r in running.ToList()) Fail(r, new InvalidOperationException($"engine step failed: {e.Message}", e));
            }
            stats = Snapshot();
        }
        Shutdown();
    }

    void Shutdown()
    {
        lock (postGate) closed = true;
        while (commands.TryTake(out var command))
        {
            try { command(); } catch (Exception) { /* the requests it added are failed below */ }
        }
        var gone = new ObjectDisposedException(nameof(InferenceEngine));
        foreach (var r in running.ToList()) Fail(r, gone);
        foreach (var r in waiting.ToList()) Fail(r, gone);
        waiting.Clear();
        stats = Snapshot();
        cache.Dispose();
        model.Dispose();
        stopped.TrySetResult();
    }

    /// <summary>Queues a request and pins the cached node it continues, so that other work does not evict it while it
    /// waits (it would have to prefill its whole context again).</summary>
    void Enqueue(RequestState r)
    {
        r.Arrival = arrivals++;
        priority.Touch(r.Request.TreeId);
        waiting.AddLast(r);
        if (CachedParent(r.Request) is { } parent)
        {
            parent.Pins++;
            r.Pin = parent;
        }
    }

    static void Unpin(RequestState r)
    {
        if (r.Pin is null) return;
        r.Pin.Pins--;
        r.Pin = null;
    }

    /// <summary>
    /// Moves waiting requests into the running batch, by tree priority (<see cref="TreePriority"/>), then those whose
    /// parent node is cached (they extend it in place and need few new slots), then arrival. A request may evict the
    /// nodes of less important trees and its own tree's unpinned nodes, never a node that a more important tree or a
    /// waiting request of its own tree continues; a request that does not fit waits (the KV budget always holds).
    /// </summary>
    void Admit()
    {
        for (var n = waiting.First; n is not null;)
        {
            var next = n.Next;
            var r = n.Value;
            if (r.Request.PolicyVersion >= 0 && r.Request.PolicyVersion != policyVersion)
                Fail(r, new PolicyVersionMismatchException(r.Request.PolicyVersion, policyVersion));
            n = next;
        }
        foreach (var (r, rank) in Prioritised())
            if (TryAdmit(r, s => SlotRank(s) is long k && (k > rank || (k == rank && !s.Pinned)))) Start(r);
    }

    List<(RequestState Request, long Rank)> Prioritised() => waiting
        .Select(r => (Request: r, Rank: priority.RankOf(r.Request.TreeId), Cached: r.Pin is { } p && pool.Find(p.Id) == p))
        .OrderBy(x => x.Rank).ThenBy(x => !x.Cached).ThenBy(x => x.Request.Arrival)
        .Select(x => (x.Request, x.Rank)).ToList();

    /// <summary>Progress when nothing runs and nothing fits (every slot pinned or held for a more important tree): the
    /// first request by priority goes in, evicting whatever it needs.</summary>
    void Force()
    {
        var first = Prioritised()[0].Request;
        if (TryAdmit(first, _ => true)) Start(first);
        // With nothing running every cached slot is evictable, so a request that passed validation always fits;
        // this is a safeguard.
        else Fail(first, new InvalidOperationException("the request does not fit the engine's KV budget even with the cache empty"));
    }

    /// <summary>The priority of a cached slot: that of the most important tree among its nodes.</summary>
    long SlotRank(KvSlot s)
    {
        long rank = TreePriority.Idle;
        foreach (var n in s.Nodes) rank = Math.Min(rank, priority.RankOf(n.TreeId));
        return rank;
    }

    void Start(RequestState r)
    {
        waiting.Remove(r);
        running.Add(r);
    }

    /// <summary>The cached node <paramref name="req"/> continues: its parent id, holding a prefix of its context.</summary>
    KvNode? CachedParent(SegmentRequest req)
    {
        var parent = string.IsNullOrEmpty(req.ParentNodeId) ? null : pool.Find(req.ParentNodeId);
        // Same id, other tokens: not the node this context continues.
        return parent is not null && parent.Path.Length <= req.Context.Length && parent.Path.AsSpan().SequenceEqual(req.Context.AsSpan(0, parent.Path.Length))
            ? parent : null;
    }

    bool TryAdmit(RequestState r, Func<KvSlot, bool> evictable)
    {
        var req = r.Request;
        int b = req.Branches;
        int capacity = Capacity(req);
        var parent = CachedParent(req);
        var (source, m) = pool.Match(req.Context, parent?.Slot);

        for (int attempt = 0; attempt < 2; attempt++)
        {
            // Extend the source slot in place when nobody writes it and no node needs its rows past the match.
            bool takeover = source is not null && source.Writer is null && source.Nodes.All(x => x.Rows <= m);
            int newSlots = b - (takeover ? 1 : 0);
            long bytes = (long)b * capacity * pool.BytesPerToken - (takeover ? (long)source!.Tokens.Count * pool.BytesPerToken : 0);
            if (pool.MakeRoom(newSlots, bytes, source, evictable, SlotRank))
            {
                Unpin(r);
                Place(r, source, m, takeover, capacity, parent);
                return true;
            }
            if (source is null) return false;
            (source, m) = (null, 0); // try again without reuse: the source itself may have to go
        }
        return false;
    }

    void Place(RequestState r, KvSlot? source, int m, bool takeover, int capacity, KvNode? parent)
    {
        var req = r.Request;
        int b = req.Branches;
        List<KvSlot> slots;
        if (takeover)
        {
            source!.Truncate(m);
            slots = [source, .. pool.TakeFree(b - 1, source.Index)];
        }
        else
        {
            slots = pool.TakeFree(b);
            if (source is not null && m > 0)
            {
                cache.CopyPrefix(source.Index, slots[0].Index, m);
                slots[0].Tokens.AddRange(req.Context.AsSpan(0, m));
                forkCopies++;
            }
        }
        if (source is not null) source.LastUse = pool.Touch();
        r.MaxNew = MaxNew(req);
        r.Reused = slots[0].Tokens.Count;
        r.ParentNode = parent;
        r.Branches = new BranchState[b];
        for (int i = 0; i < b; i++)
        {
            var branch = new BranchState(i, slots[i], new SeededRandom(SeedMix.Derive(req.Seed, i)));
            slots[i].Writer = branch;
            slots[i].Reserved = capacity;
            r.Branches[i] = branch;
        }
        reused += r.Reused;
    }

    void Step()
    {
        using var scope = NewDisposeScope();
        var items = new List<StepItem>();
        var sinks = new List<(RequestState Request, BranchState? Branch)>(); // one per item that wants logits, in order
        var prefills = new List<(RequestState Request, int Start, int Count)>();
        foreach (var r in running)
        {
            if (r.Prefilling) continue;
            foreach (var br in r.Branches)
            {
                if (br.Done) continue;
                items.Add(new StepItem(br.Slot.Index, br.Slot.Tokens.Count, [br.Tokens[^1]]));
                sinks.Add((r, br));
            }
        }
        int budget = options.PrefillChunk;
        foreach (var r in running)
        {
            if (budget == 0) break;
            if (!r.Prefilling) continue;
            var lead = r.Branches[0].Slot;
            int[] ctx = r.Request.Context;
            int start = lead.Tokens.Count, take = Math.Min(budget, ctx.Length - start);
            bool last = start + take == ctx.Length;
            items.Add(new StepItem(lead.Index, start, ctx[start..(start + take)], WantLogits: last));
            if (last) sinks.Add((r, null));
            prefills.Add((r, start, take));
            budget -= take;
        }
        if (items.Count == 0) return;

        var logits = model.Step(cache, items);
        steps++;
        batchSum += items.Count;
        maxBatch = Math.Max(maxBatch, items.Count);

        foreach (var (r, start, count) in prefills)
        {
            r.Branches[0].Slot.Tokens.AddRange(r.Request.Context.AsSpan(start, count));
            r.Prefilled += count;
            prefilled += count;
        }

        var rows = new List<SampleRow>();
        var targets = new List<(RequestState Request, BranchState Branch)>();
        for (int k = 0; k < sinks.Count; k++)
        {
            var (r, br) = sinks[k];
            if (br is not null)
            {
                br.Slot.Tokens.Add(br.Tokens[^1]);
                r.Decoded++;
                decoded++;
                rows.Add(new SampleRow(k, r.Request.Sampling, br.Rng.NextDouble()));
                targets.Add((r, br));
                continue;
            }
            Fork(r);
            foreach (var child in r.Branches)
            {
                rows.Add(new SampleRow(k, r.Request.Sampling, child.Rng.NextDouble()));
                targets.Add((r, child));
            }
        }

        var (tokens, logProbs) = TokenSampler.Sample(logits, rows);
        for (int j = 0; j < targets.Count; j++)
        {
            var (r, br) = targets[j];
            br.Tokens.Add(tokens[j]);
            br.LogProbs.Add(logProbs[j]);
            if (eos.Contains(tokens[j])) Finish(r, br, SegmentFinish.Eos);
            else if (br.Tokens.Count >= r.MaxNew) Finish(r, br, SegmentFinish.Length);
        }
        var finished = running.Where(r => r.Branches.All(b => b.Done)).ToList();
        foreach (var r in finished) running.Remove(r);
        completed += finished.Count;
        // Publish the counters before callers wake up, so a caller that reads them after its await sees its own work.
        if (finished.Count > 0) stats = Snapshot();
        foreach (var r in finished) Complete(r);
    }

    /// <summary>The context is in the lead slot: copy it into the other branches' slots and register the prompt node.</summary>
    void Fork(RequestState r)
    {
        var req = r.Request;
        var lead = r.Branches[0].Slot;
        int n = req.Context.Length;
        for (int i = 1; i < r.Branches.Length; i++)
        {
            var slot = r.Branches[i].Slot;
            cache.CopyPrefix(lead.Index, slot.Index, n);
            slot.Tokens.Clear();
            slot.Tokens.AddRange(req.Context);
            forkCopies++;
        }
        if (!string.IsNullOrEmpty(req.ParentNodeId) && req.ParentTokenCount == n && r.ParentNode is null && pool.Find(req.ParentNodeId) is null)
            r.ParentNode = pool.AddNode(req.ParentNodeId, req.TreeId, lead, req.Context, n, null);
    }

    void Finish(RequestState r, BranchState br, SegmentFinish finish)
    {
        br.Done = true;
        br.Finish = finish;
        var slot = br.Slot;
        slot.Writer = null;
        int[] path = [.. r.Request.Context, .. br.Tokens];
        pool.AddNode(r.Request.ChildNodeIds[br.Index], r.Request.TreeId, slot, path, slot.Tokens.Count, r.ParentNode);
        pool.Trim(slot);
    }

    void Complete(RequestState r)
    {
        var req = r.Request;
        var branches = r.Branches.Select(b => new SegmentBranch(req.ChildNodeIds[b.Index], [.. b.Tokens], [.. b.LogProbs], b.Finish)).ToArray();
        priority.Touch(req.TreeId);
        r.Registration.Dispose();
        r.Completion.TrySetResult(new SegmentResult(branches, policyVersion, r.Prefilled, r.Decoded, r.Reused));
    }

    /// <summary>Frees the slots of a running request (its finished branches keep their nodes).</summary>
    void Abort(RequestState r)
    {
        foreach (var br in r.Branches)
        {
            if (br.Done || br.Slot.Writer != br) continue;
            br.Slot.Writer = null;
            pool.Trim(br.Slot);
        }
        running.Remove(r);
        waiting.Remove(r);
        Unpin(r);
    }

    void Fail(RequestState r, Exception e)
    {
        Abort(r);
        failed++;
        stats = Snapshot();
        r.Registration.Dispose();
        r.Completion.TrySetException(e);
    }

    void Cancel(RequestState r)
    {
        if (r.Completion.Task.IsCompleted) return;
        Abort(r);
        stats = Snapshot();
        r.Registration.Dispose();
        r.Completion.TrySetCanceled(r.Cancellation);
    }

    /// <summary>Opens a staging area for weight <paramref name="version"/> sent as a safetensors file of
    /// <paramref name="totalBytes"/> that starts with <paramref name="header"/> (checked against the model now).
    /// Write the file's bytes into it as they arrive, then pass it to <see cref="LoadWeightsAsync(StagedWeights, CancellationToken)"/>.</summary>
    public Task<StagedWeights> StageWeightsAsync(int version, byte[] header, long totalBytes)
    {
        ArgumentNullException.ThrowIfNull(header);
        var done = new TaskCompletionSource<StagedWeights>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!Post(() =>
            {
                try { done.TrySetResult(StagedWeights.Open(model, version, header, totalBytes)); }
                catch (Exception e) { done.TrySetException(e); }
            }))
            return Task.FromException<StagedWeights>(new ObjectDisposedException(nameof(InferenceEngine)));
        return done.Task;
    }

    /// <summary>Swaps in a complete staging area (copying it into the parameters in place) between two steps, then
    /// drops all cached KV, as <see cref="LoadWeightsAsync(int, Stream, CancellationToken)"/>. An incomplete one fails
    /// and leaves the weights as they were. The caller still owns (and disposes) <paramref name="staged"/>.</summary>
    public async Task LoadWeightsAsync(StagedWeights staged, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(staged);
        cancellationToken.ThrowIfCancellationRequested();
        staged.EnsureComplete();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!Post(() => SwapWeights(staged.Version, () => staged.CopyInto(model), done))) throw new ObjectDisposedException(nameof(InferenceEngine));
        // Not abandoned on cancellation: the swap reads the staging area, which the caller frees after this returns.
        await done.Task;
    }

    void SwapWeights(int version, Action load, TaskCompletionSource done)
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
        // KV computed under the old weights is never reused: running requests start over (in their arrival order,
        // ahead of the waiting ones) unless they asked for the old version.
        var restart = running.ToList();
        foreach (var r in running) foreach (var br in r.Branches) br.Slot.Writer = null;
        running.Clear();
        pool.Clear();
        policyVersion = version;
        for (int i = restart.Count - 1; i >= 0; i--)
        {
            var r = restart[i];
            r.Reset();
            if (r.Request.PolicyVersion >= 0 && r.Request.PolicyVersion != version)
                Fail(r, new PolicyVersionMismatchException(r.Request.PolicyVersion, version));
            else
                waiting.AddFirst(r);
        }
        stats = Snapshot();
        done.TrySetResult();
    }

    EngineStats Snapshot() => new(
        policyVersion, cache.Slots, pool.LiveSlots,
        running.Sum(r => r.Branches.Count(b => !b.Done)), running.Count, pool.NodeCount,
        pool.UsedBytes, pool.BudgetBytes, waiting.Count,
        prefilled, decoded, reused, steps, steps == 0 ? 0 : (double)batchSum / steps, maxBatch,
        forkCopies, pool.Evictions, completed, failed, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
}
