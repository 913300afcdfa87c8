using System.Diagnostics;
using TreePO.Core.Protocol;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Telemetry;
using TreePO.Grains.Engines;

namespace TreePO.Hosting.Engines.Simulation;

/// <summary>
/// An engine that batches like the TorchSharp one and sleeps instead of computing. Continuous batching: requests wait
/// in arrival order and join the running batch between steps while their branches fit the free slots and KV budget
/// (cached nodes are evicted, least recently used first, to make room); a joined request prefills the context whose
/// KV it does not hold (<see cref="SimulatedEngineSettings.PrefillChunk"/> tokens a step), then every branch decodes
/// one token a step and leaves the batch when its scripted answer (<see cref="SimulatedScript"/>) ends or its segment
/// is full. Each step lasts what the <see cref="SimulationCostModel"/> says for its batch. Its nodes' KV stays cached
/// (a slot and its tokens' bytes each) until released, evicted or continued.
/// </summary>
public sealed class SimulatedEngine : IEngineBackend
{
    public int MaxSequenceLength => settings.MaxSequenceLength;

    readonly SimulatedEngineSettings settings;
    readonly SimulatedScript script;
    readonly ISimulationClock clock;
    readonly object gate = new();
    readonly LinkedList<Job> queue = new();
    readonly List<Job> running = [];
    readonly Dictionary<string, Node> nodes = [];   // cached KV by node id
    readonly SemaphoreSlim wake = new(0);
    readonly CancellationTokenSource stop = new();
    readonly Task? loop;
    long steps, batched, prefill, decode, reused, useClock, busyTicks, evictions, completed, failed;
    int maxBatch, version;

    sealed record Node(int Tokens)
    {
        public long LastUse { get; set; }
    }

    sealed class Job(SegmentRequest request, CancellationToken token)
    {
        public SegmentRequest Request { get; } = request;
        public CancellationToken Token { get; } = token;
        public TaskCompletionSource<SegmentResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public long Arrived { get; } = Stopwatch.GetTimestamp();
        public SegmentBranch[] Branches = [];
        public int PrefillLeft, Reused, Prefilled, Decoded;
        public int Emitted;   // tokens each unfinished branch has produced so far
        public int Version;
        public int Length => Branches.Length == 0 ? 0 : Branches.Max(b => b.Tokens.Length);
        public bool Finished => PrefillLeft == 0 && Emitted >= Length;
    }

    /// <param name="autoRun">False: no step runs until <see cref="StepAsync"/> is called (tests drive the steps).</param>
    public SimulatedEngine(SimulatedEngineSettings settings, SimulatedScript script, ISimulationClock? clock = null, bool autoRun = true)
    {
        this.settings = settings;
        this.script = script;
        this.clock = clock ?? ISimulationClock.Real;
        if (autoRun) loop = Task.Run(RunAsync);
    }

    /// <summary>Time spent in steps so far (the sum of the cost model's step times).</summary>
    public TimeSpan BusyTime => TimeSpan.FromTicks(Interlocked.Read(ref busyTicks));

    public Task<SegmentResult> GenerateAsync(SegmentRequest request, CancellationToken cancellationToken = default)
    {
        if (request.Context.Length + request.MaxTokens > settings.MaxSequenceLength)
            throw new ArgumentException($"tree {request.TreeId}: a context of {request.Context.Length} tokens plus {request.MaxTokens} exceeds the engine's {settings.MaxSequenceLength}");
        if (request.Branches > settings.MaxSlots)
            throw new ArgumentException($"tree {request.TreeId}: {request.Branches} branches exceed the engine's {settings.MaxSlots} slots");
        var job = new Job(request, cancellationToken);
        lock (gate) queue.AddLast(job);
        cancellationToken.Register(() =>
        {
            lock (gate) { queue.Remove(job); running.Remove(job); }
            job.Done.TrySetCanceled(cancellationToken);
        });
        wake.Release();
        return job.Done.Task;
    }

    public Task ReleaseAsync(IReadOnlyCollection<string> nodeIds, CancellationToken cancellationToken = default)
    {
        lock (gate) foreach (string id in nodeIds) nodes.Remove(id);
        return Task.CompletedTask;
    }

    public int PolicyVersion { get { lock (gate) return version; } }

    public Task LoadWeightsAsync(int newVersion, Stream safetensors, CancellationToken cancellationToken = default)
    {
        SetVersion(newVersion);
        return Task.CompletedTask;
    }

    /// <summary>Weights arrive in full (every byte through the real stream or chunks) and are dropped on arrival: the
    /// simulation needs the transfer, not the tensors.</summary>
    public Task<WeightSink> BeginWeightsAsync(int newVersion, byte[] header, long totalBytes, CancellationToken cancellationToken = default) =>
        Task.FromResult<WeightSink>(new DiscardingWeightSink(newVersion, header, totalBytes));

    public Task CommitWeightsAsync(WeightSink sink, CancellationToken cancellationToken = default)
    {
        sink.EnsureComplete();
        SetVersion(sink.Version);
        return Task.CompletedTask;
    }

    void SetVersion(int newVersion)
    {
        lock (gate)
        {
            version = newVersion;
            nodes.Clear();   // KV of the old weights is never reused
        }
    }

    public EngineCounters GetCounters()
    {
        lock (gate)
        {
            int live = running.Sum(j => j.Request.Branches);
            return new EngineCounters(
                PolicyVersion: version, Slots: settings.MaxSlots, LiveSlots: live + nodes.Count, ActiveSequences: live,
                ActiveRequests: running.Count, CachedNodes: nodes.Count, KvBytesUsed: KvUsed(), KvBudgetBytes: settings.KvBudgetBytes,
                QueueDepth: queue.Count, PrefillTokens: prefill, DecodeTokens: decode, ReusedTokens: reused, Steps: steps,
                MeanBatchSize: steps == 0 ? 0 : (double)batched / steps, MaxBatchSize: maxBatch, ForkCopies: 0,
                Evictions: evictions, RequestsCompleted: completed, RequestsFailed: failed, LiveTensors: 0);
        }
    }

    long KvUsed() => ((long)nodes.Values.Sum(n => (long)n.Tokens) + running.Sum(Reserved)) * settings.KvBytesPerToken;

    long Reserved(Job j) => (long)(j.Request.Context.Length + j.Request.MaxTokens) * j.Request.Branches;

    async Task RunAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (!await StepAsync(stop.Token)) await wake.WaitAsync(stop.Token);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { return; }
        }
    }

    /// <summary>Admits what fits, runs one step (sleeping its cost) and completes the requests it finished. False when
    /// there was nothing to run.</summary>
    public async Task<bool> StepAsync(CancellationToken cancellationToken = default)
    {
        int sequences = 0, batchTokens = 0;
        long contextTokens = 0;
        List<(Job Job, int Chunk)> work = [];
        lock (gate)
        {
            Admit();
            if (running.Count == 0) return false;
            foreach (var j in running)
            {
                if (j.PrefillLeft > 0)
                {
                    int chunk = Math.Min(settings.PrefillChunk, j.PrefillLeft);
                    work.Add((j, chunk));
                    sequences++;
                    batchTokens += chunk;
                    contextTokens += j.Request.Context.Length - j.PrefillLeft + chunk;
                }
                else
                {
                    int decoding = j.Branches.Count(b => b.Tokens.Length > j.Emitted);
                    work.Add((j, 0));
                    sequences += decoding;
                    batchTokens += decoding;
                    contextTokens += (long)decoding * (j.Request.Context.Length + j.Emitted);
                }
            }
        }
        var cost = settings.Cost.StepTime(batchTokens, contextTokens);
        long start = Stopwatch.GetTimestamp();
        await clock.Delay(cost, cancellationToken);
        EngineMeters.RecordStep(start, sequences);
        Interlocked.Add(ref busyTicks, cost.Ticks);
        List<Job> done = [];
        lock (gate)
        {
            steps++;
            batched += sequences;
            maxBatch = Math.Max(maxBatch, sequences);
            foreach (var (j, chunk) in work)
            {
                if (!running.Contains(j)) continue;   // cancelled during the step
                if (chunk > 0) j.PrefillLeft -= chunk;
                else
                {
                    int decoding = j.Branches.Count(b => b.Tokens.Length > j.Emitted);
                    decode += decoding;
                    j.Decoded += decoding;
                    j.Emitted++;
                }
                if (j.Finished) done.Add(j);
            }
            foreach (var j in done)
            {
                running.Remove(j);
                foreach (var b in j.Branches) nodes[b.NodeId] = new Node(j.Request.Context.Length + b.Tokens.Length) { LastUse = ++useClock };
            }
        }
        foreach (var j in done)
        {
            SimulationMeters.Request(j.Arrived);
            // Outside the gate (continuations may run inline); GetCounters reads it under the gate.
            if (j.Done.TrySetResult(new SegmentResult(j.Branches, j.Version, j.Prefilled, j.Decoded, j.Reused))) Interlocked.Increment(ref completed);
        }
        return true;
    }

    /// <summary>Moves waiting requests into the batch, in order, while their branches fit the free slots and KV; an
    /// empty batch always takes the first one (a request the engine can hold at all never waits forever).</summary>
    void Admit()
    {
        while (queue.First is { } first)
        {
            var j = first.Value;
            var r = j.Request;
            bool hit = nodes.TryGetValue(r.ParentNodeId, out var parent) && parent.Tokens <= r.Context.Length;
            if (hit) nodes.Remove(r.ParentNodeId);   // forked into the branches' slots
            int slotsNeeded = r.Branches;
            long kvNeeded = Reserved(j) * settings.KvBytesPerToken;
            while ((FreeSlots() < slotsNeeded || settings.KvBudgetBytes - KvUsed() < kvNeeded) && nodes.Count > 0)
                Evict();
            if ((FreeSlots() < slotsNeeded || settings.KvBudgetBytes - KvUsed() < kvNeeded) && running.Count > 0)
            {
                if (hit) nodes[r.ParentNodeId] = parent!;   // not yet: keep it for when it joins
                return;
            }
            queue.RemoveFirst();
            if (j.Token.IsCancellationRequested) continue;
            if (r.PolicyVersion >= 0 && r.PolicyVersion != version)
            {
                if (j.Done.TrySetException(new TreePO.Engine.PolicyVersionMismatchException(r.PolicyVersion, version))) failed++;
                continue;
            }
            j.Reused = hit ? parent!.Tokens : 0;
            j.PrefillLeft = j.Prefilled = r.Context.Length - j.Reused;
            prefill += j.Prefilled;
            reused += j.Reused;
            j.Version = version;
            int offset = script.ResponseOffset(r.Context);
            j.Branches = [.. Enumerable.Range(0, r.Branches).Select(i => script.Branch(r.ChildNodeIds[i], r.Seed, i, offset, r.MaxTokens))];
            running.Add(j);
        }
    }

    int FreeSlots() => settings.MaxSlots - running.Sum(j => j.Request.Branches) - nodes.Count;

    void Evict()
    {
        string oldest = nodes.MinBy(kv => kv.Value.LastUse).Key;
        nodes.Remove(oldest);
        evictions++;
    }

    public async ValueTask DisposeAsync()
    {
        stop.Cancel();
        if (loop is not null) await loop;
        lock (gate)
            foreach (var j in queue.Concat(running)) j.Done.TrySetException(new ObjectDisposedException(nameof(SimulatedEngine)));
    }

    /// <summary>Counts the bytes and keeps none of them.</summary>
    sealed class DiscardingWeightSink(int version, byte[] header, long totalBytes) : WeightSink(version, header, totalBytes)
    {
        protected override void Place(long offset, ReadOnlySpan<byte> bytes) { }
    }
}
