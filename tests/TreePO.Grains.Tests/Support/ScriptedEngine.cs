using TreePO.Core.Protocol;
using TreePO.Grains.Engines;

namespace TreePO.Grains.Tests.Support;

/// <summary>
/// A deterministic stand-in for the TorchSharp engine with the same contract: requests queue, one loop thread
/// takes everything queued as one batch per step (so concurrent requests share steps), KV is kept per node id and
/// reused when a request continues a node it holds, tokens derive from the request seed only (never from the batch),
/// a request of a tree whose id contains <see cref="HangMarker"/> holds its slot until cancelled.
/// </summary>
public sealed class ScriptedEngine : IEngineBackend
{
    public const int Eos = 0;
    public const int Vocab = 64;
    public string HangMarker { get; init; } = "hang";
    public int MaxSequenceLength { get; init; } = 256;
    public TimeSpan StepTime { get; init; } = TimeSpan.FromMilliseconds(5);
    /// <summary>Each sampled token is EOS with probability 1 / EosOneIn.</summary>
    public int EosOneIn { get; init; } = 12;

    readonly object gate = new();
    readonly List<Pending> queue = [];
    readonly List<Pending> hanging = [];
    readonly Dictionary<string, int> nodes = [];   // node id -> tokens covered
    readonly SemaphoreSlim wake = new(0);
    readonly CancellationTokenSource stop = new();
    readonly Task loop;
    long steps, batched, prefill, decode, reused;
    int maxBatch, running;

    public ScriptedEngine() => loop = Task.Run(RunAsync);

    sealed record Pending(SegmentRequest Request, TaskCompletionSource<SegmentResult> Done, CancellationToken Token);

    public Task<SegmentResult> GenerateAsync(SegmentRequest request, CancellationToken cancellationToken = default)
    {
        if (request.Context.Length + request.MaxTokens > MaxSequenceLength)
            throw new ArgumentException($"context of {request.Context.Length} + {request.MaxTokens} exceeds {MaxSequenceLength}");
        var p = new Pending(request, new TaskCompletionSource<SegmentResult>(TaskCreationOptions.RunContinuationsAsynchronously), cancellationToken);
        lock (gate)
        {
            (request.TreeId.Contains(HangMarker) ? hanging : queue).Add(p);
            MaxOutstanding = Math.Max(MaxOutstanding, queue.Count + hanging.Count + running);
        }
        cancellationToken.Register(() =>
        {
            lock (gate) { queue.Remove(p); hanging.Remove(p); }
            p.Done.TrySetCanceled(cancellationToken);
        });
        wake.Release();
        return p.Done.Task;
    }

    public Task ReleaseAsync(IReadOnlyCollection<string> nodeIds, CancellationToken cancellationToken = default)
    {
        lock (gate) foreach (var id in nodeIds) nodes.Remove(id);
        return Task.CompletedTask;
    }

    public int PolicyVersion { get { lock (gate) return version; } }

    /// <summary>Every weight load, in order: the version and the bytes it was given.</summary>
    public List<(int Version, byte[] Weights)> Loads { get; } = [];

    public async Task LoadWeightsAsync(int newVersion, Stream safetensors, CancellationToken cancellationToken = default)
    {
        var copy = new MemoryStream();
        await safetensors.CopyToAsync(copy, cancellationToken);
        lock (gate)
        {
            version = newVersion;
            nodes.Clear();   // KV computed under the old weights is never reused
            Loads.Add((newVersion, copy.ToArray()));
        }
    }

    int version;

    public EngineCounters GetCounters()
    {
        lock (gate)
        {
            long kv = nodes.Values.Sum(n => (long)n) * 16;
            int active = running + hanging.Count;
            return new EngineCounters(PolicyVersion: version, Slots: 0, LiveSlots: active, ActiveSequences: active,
                ActiveRequests: active, CachedNodes: nodes.Count, KvBytesUsed: kv, KvBudgetBytes: 1 << 20, QueueDepth: queue.Count,
                PrefillTokens: prefill, DecodeTokens: decode, ReusedTokens: reused, Steps: steps,
                MeanBatchSize: steps == 0 ? 0 : (double)batched / steps, MaxBatchSize: maxBatch, ForkCopies: 0, Evictions: 0,
                RequestsCompleted: 0, RequestsFailed: 0, LiveTensors: 0);
        }
    }

    /// <summary>The most requests this engine held at once (queued, hanging or in a step).</summary>
    public int MaxOutstanding { get; private set; }

    /// <summary>Node ids whose KV this engine holds.</summary>
    public int LiveNodes { get { lock (gate) return nodes.Count; } }

    async Task RunAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            try { await wake.WaitAsync(stop.Token); await Task.Delay(StepTime, stop.Token); }
            catch (OperationCanceledException) { return; }
            List<Pending> batch;
            lock (gate)
            {
                batch = [.. queue.Where(p => !p.Done.Task.IsCompleted)];
                queue.Clear();
                if (batch.Count == 0) continue;
                steps++;
                batched += batch.Count;
                maxBatch = Math.Max(maxBatch, batch.Count);
                running = batch.Count;
            }
            foreach (var p in batch)
            {
                var result = Run(p.Request);
                lock (gate) running--;   // answered: no longer held (MaxOutstanding)
                p.Done.TrySetResult(result);
            }
            lock (gate) running = 0;
        }
    }

    SegmentResult Run(SegmentRequest r)
    {
        lock (gate)
        {
            int hit = nodes.TryGetValue(r.ParentNodeId, out int held) && held <= r.Context.Length ? held : 0;
            var branches = new SegmentBranch[r.Branches];
            for (int i = 0; i < r.Branches; i++)
            {
                var rng = new Random(SeedMix.ToInt32(SeedMix.Derive(r.Seed, i)));
                var tokens = new List<int>();
                var logps = new List<float>();
                var finish = SegmentFinish.Length;
                while (tokens.Count < r.MaxTokens)
                {
                    int t = rng.Next(EosOneIn) == 0 ? Eos : 1 + rng.Next(Vocab - 1);
                    tokens.Add(t);
                    logps.Add(-(float)rng.NextDouble());
                    if (t == Eos) { finish = SegmentFinish.Eos; break; }
                }
                branches[i] = new SegmentBranch(r.ChildNodeIds[i], [.. tokens], [.. logps], finish);
                nodes[r.ChildNodeIds[i]] = r.Context.Length + tokens.Count;
                decode += tokens.Count;
            }
            prefill += r.Context.Length - hit;
            reused += hit;
            return new SegmentResult(branches, version, r.Context.Length - hit, branches.Sum(b => b.Tokens.Length), hit);
        }
    }

    public async ValueTask DisposeAsync()
    {
        stop.Cancel();
        await loop;
        lock (gate) foreach (var p in queue.Concat(hanging)) p.Done.TrySetException(new ObjectDisposedException(nameof(ScriptedEngine)));
    }
}

/// <summary>Makes <see cref="ScriptedEngine"/>s and keeps them so tests can look inside.</summary>
public sealed class ScriptedEngineFactory : IEngineBackendFactory
{
    public List<ScriptedEngine> Created { get; } = [];
    public Func<ScriptedEngine> Make { get; init; } = () => new ScriptedEngine();

    public Task<IEngineBackend> CreateAsync(int device, CancellationToken cancellationToken)
    {
        var engine = Make();
        lock (Created) Created.Add(engine);
        return Task.FromResult<IEngineBackend>(engine);
    }
}
