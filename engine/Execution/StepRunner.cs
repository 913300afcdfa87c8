using TreePO.Core.Protocol;
using TreePO.Engine.Kv;
using TreePO.Engine.Model;
using TreePO.Engine.Sampling;
using TreePO.Engine.Scheduling;
using static TorchSharp.torch;

namespace TreePO.Engine.Execution;

/// <summary>
/// Runs one step over the running batch in three parts: <em>build</em> it (the next token of every decoding branch,
/// then up to <c>prefillChunk</c> context tokens of the requests still prefilling), <em>compute</em> it (the cached
/// forward and the sampling of every row at once), and <em>apply</em> it (forks of requests whose context is complete,
/// the sampled tokens, and the end of branches that hit EOS or their length). Building reads the requests without
/// changing them and computing writes only K/V rows that a repeat writes again with the same values, so a step that
/// throws can be run again as it was. Model-thread only.
/// </summary>
internal sealed class StepRunner(Qwen2Model model, KvCache cache, KvPool pool, IReadOnlySet<int> eos, int prefillChunk,
    Action<IReadOnlyList<StepItem>>? fault = null)
{
    /// <summary>A built step: forward items, the rows to sample and whom they belong to.</summary>
    sealed class Batch
    {
        public List<StepItem> Items { get; } = [];
        /// <summary>One per item that wants logits, in order: a decoding branch, or a request whose prefill ends (null).</summary>
        public List<(RequestState Request, BranchState? Branch)> Sinks { get; } = [];
        public List<(RequestState Request, int Start, int Count)> Prefills { get; } = [];
        public List<SampleRow> Rows { get; } = [];
        /// <summary>The branch each row samples for, in row order.</summary>
        public List<(RequestState Request, BranchState Branch)> Targets { get; } = [];
    }

    /// <summary>Context tokens computed (not found in the cache).</summary>
    public long Prefilled { get; private set; }
    /// <summary>Forward positions computed while sampling.</summary>
    public long Decoded { get; private set; }
    public long Steps { get; private set; }
    public long BatchSum { get; private set; }
    public int MaxBatch { get; private set; }
    /// <summary>Prefilled positions whose K/V had been computed before under the same weights, and of those, the ones
    /// lost to eviction and the ones given up after a release.</summary>
    public long Recomputed { get; private set; }
    public long RecomputedEvicted { get; private set; }
    public long RecomputedReleased { get; private set; }

    readonly long[] bucketSteps = new long[16];
    readonly double[] bucketSeconds = new double[16];

    /// <summary>Step time by batch size so far (the buckets that saw a step).</summary>
    public StepTimeBucket[] StepTimes()
    {
        var result = new List<StepTimeBucket>();
        for (int i = 0; i < bucketSteps.Length; i++)
        {
            if (bucketSteps[i] == 0) continue;
            var (min, max) = StepTimeBucket.RangeOf(i);
            result.Add(new StepTimeBucket(min, max, bucketSteps[i], bucketSeconds[i]));
        }
        return [.. result];
    }

    /// <summary>One step; returns the requests whose branches have all finished (still in <paramref name="running"/>).
    /// When it throws, nothing but K/V rows past every sequence's length has changed.</summary>
    public List<RequestState> Step(IReadOnlyList<RequestState> running)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        var batch = Build(running);
        if (batch.Items.Count == 0) return [];
        var (tokens, logProbs) = Compute(batch);
        var finished = Apply(batch, tokens, logProbs, running);
        int bucket = Math.Min(StepTimeBucket.IndexOf(batch.Items.Count), bucketSteps.Length - 1);
        bucketSteps[bucket]++;
        bucketSeconds[bucket] += System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
        Telemetry.EngineMeters.RecordStep(start, batch.Items.Count);
        return finished;
    }

    /// <summary>
    /// Runs the largest step this engine can be asked for (a full prefill chunk in slot 0 beside one decoding token in
    /// every other slot) once and throws its results away, so that a fresh model thread has touched the memory its
    /// steps allocate before the first real one: on a new thread the allocator hands out pages the process has never
    /// touched, and their first-touch faults made a fresh engine's first steps cost two to three times a later step of
    /// the same shape (about a thousand faults, 10-20 ms on a 2-core virtual machine, for the built-in model). Counts
    /// nothing. The K/V rows it writes are finite values past every sequence's length (each slot is empty): masked out
    /// like the zeros they replace, and overwritten before they are read.
    /// </summary>
    public void WarmUp()
    {
        const int WarmBatchOfLazyCache = 256;
        int n = Math.Min(prefillChunk, cache.MaxLength);
        // A lazy cache commits a page per slot and layer for each slot touched: warm the batches a committed one would.
        int batch = cache.Committed ? cache.Slots : Math.Min(cache.Slots, WarmBatchOfLazyCache);
        var items = new List<StepItem>(batch) { new(0, 0, new int[n]) };
        for (int slot = 1; slot < batch; slot++) items.Add(new StepItem(slot, 0, [0]));
        using var scope = NewDisposeScope();
        model.Step(cache, items);
    }

    /// <summary>After a step failed twice: the requests of that step whose work fails when computed alone. Empty when
    /// each succeeds alone (the failure is not one request's).</summary>
    public List<RequestState> Culprits(IReadOnlyList<RequestState> running)
    {
        var culprits = new List<RequestState>();
        var inStep = Build(running).Items.Count == 0 ? [] : running.Where(r => Build([r]).Items.Count > 0).ToList();
        foreach (var r in inStep)
        {
            try { Compute(Build([r])); }
            catch (Exception) { culprits.Add(r); }
        }
        return culprits;
    }

    Batch Build(IReadOnlyList<RequestState> running)
    {
        var batch = new Batch();
        foreach (var r in running)
        {
            if (r.Prefilling) continue;
            foreach (var br in r.Branches)
            {
                if (br.Done) continue;
                batch.Items.Add(new StepItem(br.Slot.Index, br.Slot.Tokens.Count, [br.Tokens[^1]]));
                batch.Sinks.Add((r, br));
            }
        }
        int budget = prefillChunk;
        foreach (var r in running)
        {
            if (budget == 0) break;
            if (!r.Prefilling) continue;
            var lead = r.Branches[0].Slot;
            int[] ctx = r.Request.Context;
            int start = lead.Tokens.Count, take = Math.Min(budget, ctx.Length - start);
            bool last = start + take == ctx.Length;
            batch.Items.Add(new StepItem(lead.Index, start, ctx[start..(start + take)], WantLogits: last));
            if (last) batch.Sinks.Add((r, null));
            batch.Prefills.Add((r, start, take));
            budget -= take;
        }
        // Each branch's uniform is read now and drawn in Apply, so that a repeated step samples the same tokens.
        for (int k = 0; k < batch.Sinks.Count; k++)
        {
            var (r, br) = batch.Sinks[k];
            foreach (var target in br is null ? r.Branches : [br])
            {
                batch.Rows.Add(new SampleRow(k, r.Request.Sampling, target.Rng.PeekDouble()));
                batch.Targets.Add((r, target));
            }
        }
        return batch;
    }

    (int[] Tokens, float[] LogProbs) Compute(Batch batch)
    {
        using var scope = NewDisposeScope();
        fault?.Invoke(batch.Items);
        var logits = model.Step(cache, batch.Items);
        return TokenSampler.Sample(logits, batch.Rows);
    }

    List<RequestState> Apply(Batch batch, int[] tokens, float[] logProbs, IReadOnlyList<RequestState> running)
    {
        Steps++;
        BatchSum += batch.Items.Count;
        MaxBatch = Math.Max(MaxBatch, batch.Items.Count);

        // Two requests that prefill the same tokens in one step both compute them, neither twice: only positions
        // computed before this step count as recomputed.
        var thisStep = new HashSet<ulong>();
        foreach (var (r, start, count) in batch.Prefills)
        {
            r.Branches[0].Slot.Tokens.AddRange(r.Request.Context.AsSpan(start, count));
            r.Prefilled += count;
            Prefilled += count;
            var hashes = r.ContextHashes;
            int last = hashes.Length - 1;
            for (int i = start; i < start + count; i++)
            {
                // When all the context before it is held, its last token is fed again for its logits (the cache
                // keeps K/V, not logits, as vLLM's prefix cache does): the price of a full hit, not a recomputation.
                bool forLogits = i == last && start == last;
                if (!thisStep.Add(hashes[i]) || !pool.Ledger.Compute(hashes[i], out var lostBy) || forLogits) continue;
                r.Recomputed++;
                Recomputed++;
                if (lostBy == KvLoss.Evicted) RecomputedEvicted++;
                else if (lostBy == KvLoss.Released) RecomputedReleased++;
            }
        }
        foreach (var (r, br) in batch.Sinks)
        {
            if (br is null)
            {
                Fork(r);
                continue;
            }
            br.Slot.Tokens.Add(br.Tokens[^1]);
            br.PathHash = PrefixLedger.Extend(br.PathHash, br.Tokens[^1]);
            pool.Ledger.Compute(br.PathHash, out _);
            r.Decoded++;
            Decoded++;
        }
        for (int j = 0; j < batch.Targets.Count; j++)
        {
            var (r, br) = batch.Targets[j];
            br.Rng.NextDouble();
            br.Tokens.Add(tokens[j]);
            br.LogProbs.Add(logProbs[j]);
            if (eos.Contains(tokens[j])) Finish(r, br, SegmentFinish.Eos);
            else if (br.Tokens.Count >= r.MaxNew) Finish(r, br, SegmentFinish.Length);
        }
        return running.Where(r => r.Branches.All(b => b.Done)).ToList();
    }

    /// <summary>The context is in the lead slot: copy it into the other branches' slots and register the prompt node.</summary>
    void Fork(RequestState r)
    {
        var req = r.Request;
        var lead = r.Branches[0].Slot;
        int n = req.Context.Length;
        foreach (var br in r.Branches) br.PathHash = r.ContextHashes[n - 1];
        for (int i = 1; i < r.Branches.Length; i++)
        {
            var slot = r.Branches[i].Slot;
            cache.CopyPrefix(lead.Index, slot.Index, n);
            slot.Tokens.Clear();
            slot.Tokens.AddRange(req.Context);
        }
        if (!string.IsNullOrEmpty(req.ParentNodeId) && req.ParentTokenCount == n && r.ParentNode is null && pool.Find(req.ParentNodeId) is null)
            r.ParentNode = pool.AddNode(req.ParentNodeId, req.TreeId, lead, req.Context, n, null);
    }

    /// <summary>A branch ended: its segment becomes a node holding every row but the last sampled token's.</summary>
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
}
