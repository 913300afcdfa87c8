using TorchSharp;
using TreePO.Core.Protocol;
using TreePO.Core.Trees;
using TreePO.Engine.Checkpoint;
using TreePO.Engine.Execution;
using TreePO.Engine.Model;
using TreePO.Engine.Native;
using TreePO.Engine.Scheduling;
using TreePO.Engine.Telemetry;
using static TorchSharp.torch;

namespace TreePO.Engine;

/// <summary>
/// Serves segment requests for one model on one device. This is the callers' side: it checks each request and posts it
/// to the request loop (<see cref="EngineLoop"/>) on the engine's model thread, where the scheduler
/// (<see cref="SegmentScheduler"/>) admits it when slots and KV budget allow and the step runner
/// (<see cref="StepRunner"/>) runs every running sequence at once (continuous batching: decode tokens of all running
/// branches plus up to <see cref="EngineOptions.PrefillChunk"/> context tokens). Callers only ever await.
/// </summary>
public sealed class InferenceEngine : ISegmentGenerator, IAsyncDisposable
{
    readonly EngineOptions options;
    readonly Qwen2Model model;
    readonly HashSet<int> eos;
    readonly int maxSequenceLength;
    readonly EngineLoop loop;

    /// <summary>Throws an <see cref="ArgumentException"/> before starting anything when the KV budget cannot hold one
    /// slot of the longest path.</summary>
    InferenceEngine(Qwen2Model model, EngineOptions options)
    {
        this.options = options;
        this.model = model;
        var c = model.Config;
        maxSequenceLength = options.MaxSequenceLengthFor(c);
        long perToken = c.KvBytesPerToken(model.DType);
        Slots = options.SlotsFor(maxSequenceLength, perToken, options.LazyKvMemory ?? model.Device.type == DeviceType.CPU);
        // Written with zeros up front when the whole cache fits the budget; else committed as slots fill (KvCache).
        bool committed = Slots <= options.FullLengthSlots(maxSequenceLength, perToken);
        eos = [.. options.EosTokenIds ?? c.EosTokenIds];
        loop = new EngineLoop(model, options, maxSequenceLength, Slots, committed, eos);
        EngineMeters.Track(this, model.Device.ToString());
    }

    /// <summary>Loads config.json and the weights (as <see cref="EngineOptions.DType"/>) from
    /// <see cref="EngineOptions.ModelPath"/> and starts the model thread.</summary>
    public static InferenceEngine Load(EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (string.IsNullOrWhiteSpace(options.ModelPath)) throw new ArgumentException("EngineOptions.ModelPath is empty");
        TorchRuntime.EnsureLoaded();
        var device = DeviceName.Resolve(options.Device, "EngineOptions.Device");
        var model = Qwen2Checkpoint.Load(options.ModelPath, device, options.ElementType);
        try
        {
            return new InferenceEngine(model, options);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Serves an already built model (benchmarks, trainers' tests); the engine takes ownership of it once
    /// started (options that do not fit leave it to the caller). <see cref="EngineOptions.ModelPath"/> and
    /// <see cref="EngineOptions.Device"/> are ignored; <see cref="EngineOptions.DType"/> must be the model's.</summary>
    public static InferenceEngine Create(Qwen2Model model, EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (model.DType != options.ElementType)
            throw new ArgumentException($"EngineOptions.DType is '{options.DType}', but the model holds {model.DType} weights");
        TorchRuntime.EnsureLoaded();
        return new InferenceEngine(model, options);
    }

    public int PolicyVersion => loop.Weights.Version;
    public Qwen2Config Config => model.Config;
    /// <summary>The longest path (context + segment) a slot holds.</summary>
    public int MaxSequenceLength => maxSequenceLength;
    /// <summary>The KV slots the engine allocated: <see cref="EngineOptions.MaxSlots"/>, or as many slots of
    /// <see cref="MaxSequenceLength"/> rows as <see cref="EngineOptions.KvBudgetBytes"/> holds when that is fewer. A
    /// request has at most this many branches.</summary>
    public int Slots { get; }
    /// <summary>Bytes of K/V one cached token holds (fp32 or bf16, <see cref="EngineOptions.DType"/>).</summary>
    public long KvBytesPerToken => loop.KvBytesPerToken;
    public IReadOnlySet<int> EosTokenIds => eos;
    public EngineCounters GetStats() => loop.Stats;

    /// <summary>Completes once the engine's start-up work on its model thread is done (a warm-up step that touches the
    /// memory its steps allocate, tens of milliseconds for the built-in model). Requests sent before wait behind it
    /// anyway; a measurement of rollouts awaits it so as not to count start-up, as it does not count loading.</summary>
    public Task WhenReadyAsync() => loop.Ready;

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
        if (!loop.Post(() => loop.Scheduler.Enqueue(state)))
            return Task.FromException<SegmentResult>(new ObjectDisposedException(nameof(InferenceEngine)));
        if (cancellationToken.CanBeCanceled)
            state.Registration = cancellationToken.Register(() => loop.Post(() => loop.Scheduler.Cancel(state)));
        return state.Completion.Task;
    }

    public Task ReleaseAsync(IReadOnlyCollection<string> nodeIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(nodeIds);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!loop.Post(() =>
            {
                loop.Scheduler.Release(nodeIds);
                loop.Publish();
                done.TrySetResult();
            }))
            return Task.FromException(new ObjectDisposedException(nameof(InferenceEngine)));
        return done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Replaces the weights with a safetensors state dict (HF key names, any float dtype) between two steps,
    /// then drops all cached KV. Running requests restart under the new weights, or fail if they asked for the old
    /// version explicitly. A bad stream (missing key, wrong shape) fails this call and leaves the weights as they were.</summary>
    public Task LoadWeightsAsync(int version, Stream safetensors, CancellationToken cancellationToken = default) =>
        loop.Weights.LoadAsync(version, safetensors, cancellationToken);

    /// <summary>Opens a staging area for weight <paramref name="version"/> sent as a safetensors file of
    /// <paramref name="totalBytes"/> that starts with <paramref name="header"/> (checked against the model now).
    /// Write the file's bytes into it as they arrive, then pass it to <see cref="LoadWeightsAsync(StagedWeights, CancellationToken)"/>.</summary>
    public Task<StagedWeights> StageWeightsAsync(int version, byte[] header, long totalBytes) =>
        loop.Weights.StageAsync(version, header, totalBytes);

    /// <summary>Swaps in a complete staging area (copying it into the parameters in place) between two steps, then
    /// drops all cached KV, as <see cref="LoadWeightsAsync(int, Stream, CancellationToken)"/>. An incomplete one fails
    /// and leaves the weights as they were. The caller still owns (and disposes) <paramref name="staged"/>.</summary>
    public Task LoadWeightsAsync(StagedWeights staged, CancellationToken cancellationToken = default) =>
        loop.Weights.LoadAsync(staged, cancellationToken);

    /// <summary>Fails every request still queued or running, then frees the KV cache and the model.</summary>
    public ValueTask DisposeAsync()
    {
        EngineMeters.Untrack(this);
        return loop.StopAsync();
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
        if (n >= maxSequenceLength)
            throw new ArgumentException($"SegmentRequest.Context has {n} tokens; this engine's MaxSequenceLength is {maxSequenceLength}, which leaves no room for a new token", "request");
        if (r.MaxTokens <= 0) throw new ArgumentException($"SegmentRequest.MaxTokens must be positive, got {r.MaxTokens}", "request");
        if (r.ChildNodeIds is null || r.ChildNodeIds.Length == 0) throw new ArgumentException("SegmentRequest.ChildNodeIds is empty: a request needs at least one branch", "request");
        for (int i = 0; i < r.ChildNodeIds.Length; i++)
            if (string.IsNullOrEmpty(r.ChildNodeIds[i])) throw new ArgumentException($"SegmentRequest.ChildNodeIds[{i}] is null or empty", "request");
        if (r.ChildNodeIds.Distinct(StringComparer.Ordinal).Count() != r.ChildNodeIds.Length)
            throw new ArgumentException("SegmentRequest.ChildNodeIds has duplicates", "request");
        if (r.Branches > Slots)
            throw new ArgumentException($"SegmentRequest has {r.Branches} branches; this engine has only {Slots} slots (" + (Slots == options.MaxSlots
                ? "EngineOptions.MaxSlots)"
                : $"as many of MaxSequenceLength = {maxSequenceLength} tokens as EngineOptions.KvBudgetBytes = {options.KvBudgetBytes} holds; EngineOptions.MaxSlots = {options.MaxSlots})"), "request");
        if (r.ParentTokenCount < 0 || r.ParentTokenCount > n)
            throw new ArgumentException($"SegmentRequest.ParentTokenCount {r.ParentTokenCount} is outside [0, {n}] (the context length)", "request");
        var s = r.Sampling ?? throw new ArgumentException("SegmentRequest.Sampling is null", "request");
        if (!float.IsFinite(s.Temperature) || s.Temperature < 0) throw new ArgumentException($"SamplingParams.Temperature must be finite and >= 0, got {s.Temperature}", "request");
        if (float.IsNaN(s.TopP) || s.TopP <= 0) throw new ArgumentException($"SamplingParams.TopP must be in (0, 1] (1 = off), got {s.TopP}", "request");
        if (r.PolicyVersion >= 0 && r.PolicyVersion != PolicyVersion) throw new PolicyVersionMismatchException(r.PolicyVersion, PolicyVersion);
        // No check of the request's KV against the budget: the slots hold MaxSequenceLength rows each within it, so
        // branches that have slots fit.
    }
}
