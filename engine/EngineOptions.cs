using static TorchSharp.torch;

namespace TreePO.Engine;

/// <summary>How an <see cref="InferenceEngine"/> is set up.</summary>
public sealed record EngineOptions
{
    /// <summary>A Hugging Face model folder: config.json, model.safetensors (or a sharded index), optionally
    /// generation_config.json.</summary>
    public string ModelPath { get; init; } = "";

    /// <summary>K/V bytes the engine may hold (rows in use or reserved by running sequences, times the bytes of one
    /// token's K/V). New work waits when it is full; cached nodes are evicted least recently used first. It also bounds
    /// the cache's allocation: the engine allocates only the slots of <see cref="MaxSequenceLength"/> rows that fit in it
    /// (<see cref="SlotsFor"/>).</summary>
    public long KvBudgetBytes { get; init; } = 512L << 20;

    /// <summary>Cache slots at most: one per running branch or cached path. The engine allocates fewer when
    /// <see cref="KvBudgetBytes"/> cannot hold this many full-length slots (<see cref="InferenceEngine.Slots"/>).</summary>
    public int MaxSlots { get; init; } = 64;

    /// <summary>Most context tokens prefilled per engine step (decode steps of running branches go on meanwhile).</summary>
    public int PrefillChunk { get; init; } = 256;

    /// <summary>Intra-op threads of the engine's model thread; 0 = automatic (<see cref="ThreadsFor"/>).</summary>
    public int Threads { get; init; } = 0;

    /// <summary>Below this hidden size a decode step is a few hundred small ops, and splitting each op across cores
    /// costs more than it saves (bench engine, built-in model, 2 cores: batch 64 in 6.0 ms on one thread against
    /// 9.4 ms on two); from it on, the matrix products are large enough to share.</summary>
    public const int ParallelHiddenSize = 256;

    /// <summary>The intra-op threads the engine uses for a model: <see cref="Threads"/> when set, else one thread for
    /// models narrower than <see cref="ParallelHiddenSize"/>; for wider ones every core but one on machines with more
    /// than two, so the step does not take the cores Orleans' scheduler needs to answer calls and membership probes (a
    /// silo whose scheduler starves is declared dead), and every core on one or two, where leaving one out would halve
    /// the engine for a scheduler that is mostly idle while the engine steps.</summary>
    public int ThreadsFor(Model.Qwen2Config config, int? cores = null) => ThreadsFor(config.HiddenSize, cores);

    /// <summary><see cref="ThreadsFor(Model.Qwen2Config, int?)"/> for a model of this hidden size.</summary>
    public int ThreadsFor(int hiddenSize, int? cores = null)
    {
        int n = cores ?? Environment.ProcessorCount;
        return Threads > 0 ? Threads : hiddenSize < ParallelHiddenSize ? 1 : n > 2 ? n - 1 : Math.Max(1, n);
    }

    /// <summary>"cpu", or "cuda" / "cuda:N" where the CUDA build of TorchSharp is referenced and a GPU is present.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Longest path (context + segment) a slot holds; 0 = min(max_position_embeddings, 4096). A segment stops
    /// with finish Length when its path reaches it.</summary>
    public int MaxSequenceLength { get; init; } = 0;

    /// <summary>"float32", or "bfloat16": the weights and the K/V cache in bf16 (half the bytes per cached token, so the
    /// budget holds twice the rows), with RMSNorm's variance, the rotary tables and the logits in fp32. Meant for CUDA;
    /// CPU runs it too. Only the engine's copy of the weights: trainers keep fp32.</summary>
    public string DType { get; init; } = Float32Name;

    public const string Float32Name = "float32";
    public const string BFloat16Name = "bfloat16";

    /// <summary>The element type of <see cref="DType"/> (case ignored).</summary>
    public ScalarType ElementType => ElementTypeOf(DType)
        ?? throw new ArgumentException($"EngineOptions.DType '{DType}' is not one of {Float32Name}, {BFloat16Name}");

    /// <summary>The element type a dtype name stands for (<see cref="Float32Name"/> or <see cref="BFloat16Name"/>, case
    /// ignored), or null for any other name: the one reading of the engine's, the options tree's and the benchmarks'.</summary>
    public static ScalarType? ElementTypeOf(string? name) => name?.ToLowerInvariant() switch
    {
        Float32Name => ScalarType.Float32,
        BFloat16Name => ScalarType.BFloat16,
        _ => null,
    };

    /// <summary>The longest path a slot holds for a model of <paramref name="config"/>: <see cref="MaxSequenceLength"/>
    /// capped by max_position_embeddings, or when 0 min(max_position_embeddings, 4096).</summary>
    public int MaxSequenceLengthFor(Model.Qwen2Config config) => MaxSequenceLength > 0
        ? Math.Min(MaxSequenceLength, config.MaxPositionEmbeddings)
        : Math.Min(config.MaxPositionEmbeddings, 4096);

    /// <summary>The slots the engine allocates. Where memory is committed as it is first used (<paramref name="lazyMemory"/>:
    /// a CPU), <see cref="MaxSlots"/>: slots past what the budget holds at full length cost only the rows they fill, and
    /// the budget bounds the rows in use (<see cref="Kv.KvPool"/>), so many short sequences fit. Elsewhere (a GPU, where
    /// all of an allocation is real from the start) <see cref="MaxSlots"/> or fewer, as many slots of
    /// <paramref name="maxSequenceLength"/> rows of <paramref name="bytesPerToken"/> each as <see cref="KvBudgetBytes"/>
    /// holds. Throws when the budget cannot hold even one full-length slot.</summary>
    public int SlotsFor(int maxSequenceLength, long bytesPerToken, bool lazyMemory = false)
    {
        long perSlot = maxSequenceLength * bytesPerToken;
        long fit = FullLengthSlots(maxSequenceLength, bytesPerToken);
        if (fit < 1)
            throw new ArgumentException(
                $"EngineOptions.KvBudgetBytes = {KvBudgetBytes} cannot hold one KV slot of EngineOptions.MaxSequenceLength = " +
                $"{maxSequenceLength} tokens: that needs {maxSequenceLength} x {bytesPerToken} = {perSlot} bytes ({bytesPerToken} bytes " +
                $"of K/V per token in {DType}); lower MaxSequenceLength or raise KvBudgetBytes to at least {perSlot}");
        return lazyMemory ? MaxSlots : (int)Math.Min(MaxSlots, fit);
    }

    /// <summary>How many slots of <paramref name="maxSequenceLength"/> rows <see cref="KvBudgetBytes"/> holds: a cache of
    /// at most that many is written at allocation, a larger one (a CPU's, <see cref="SlotsFor"/>) as its rows fill.</summary>
    public long FullLengthSlots(int maxSequenceLength, long bytesPerToken) => KvBudgetBytes / (maxSequenceLength * bytesPerToken);

    /// <summary>EOS ids; null = from the model folder (generation_config.json and config.json <c>eos_token_id</c>).</summary>
    public IReadOnlyList<int>? EosTokenIds { get; init; }

    /// <summary>Tests only: whether the KV memory counts as committed as it is used (null: on a CPU).</summary>
    internal bool? LazyKvMemory { get; init; }

    /// <summary>Tests only: called with each step's items before its forward; what it throws, the step throws.</summary>
    internal Action<IReadOnlyList<Model.StepItem>>? StepFault { get; init; }

    internal void Validate()
    {
        if (KvBudgetBytes <= 0) throw new ArgumentException($"EngineOptions.KvBudgetBytes must be positive, got {KvBudgetBytes}");
        if (MaxSlots <= 0) throw new ArgumentException($"EngineOptions.MaxSlots must be positive, got {MaxSlots}");
        if (PrefillChunk <= 0) throw new ArgumentException($"EngineOptions.PrefillChunk must be positive, got {PrefillChunk}");
        if (Threads < 0) throw new ArgumentException($"EngineOptions.Threads must be 0 (automatic) or positive, got {Threads}");
        if (MaxSequenceLength < 0) throw new ArgumentException($"EngineOptions.MaxSequenceLength must be 0 (automatic) or positive, got {MaxSequenceLength}");
        if (ElementTypeOf(DType) is null)
            throw new ArgumentException($"EngineOptions.DType must be {Float32Name} or {BFloat16Name}, got '{DType}'");
    }
}
