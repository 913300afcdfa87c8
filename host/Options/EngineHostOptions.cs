namespace TreePO.Hosting.Options;

/// <summary>The engines of this silo.</summary>
public sealed class EngineHostOptions
{
    /// <summary>Engines this silo offers: a count (0 makes a silo that only hosts trees; each engine's device follows
    /// <see cref="Device"/>) or a list of devices, one engine each ("cuda:0,cuda:1"; "cuda": every GPU; "cpu").</summary>
    public string Devices { get; set; } = "1";

    /// <summary>KV cache budget of each engine, in MiB.</summary>
    public long KvBudgetMB { get; set; } = 1024;

    /// <summary>Sequences one engine runs in a batch at most.</summary>
    public int MaxSlots { get; set; } = 64;

    /// <summary>Segment requests one engine grain hands its engine at once; more wait in the grain (backpressure)
    /// until one finishes. 0: four times <see cref="MaxSlots"/>.</summary>
    public int MaxQueuedRequests { get; set; }

    /// <summary>Context tokens prefilled per sequence per step at most.</summary>
    public int PrefillChunk { get; set; } = 256;

    /// <summary>Torch threads per engine; 0: automatic (EngineOptions.ThreadsFor).</summary>
    public int Threads { get; set; }

    /// <summary>Longest path (prompt + response) an engine holds; 0: the model's max_position_embeddings, at most 4096.</summary>
    public int MaxSequenceLength { get; set; }

    /// <summary>The device of each engine of a count of <see cref="Devices"/>: "auto" (CUDA device i for engine i when
    /// present, else CPU), "cpu" or "cuda".</summary>
    public string Device { get; set; } = "auto";

    /// <summary>"float32", or "bfloat16": each engine holds its weights and K/V cache in bf16 (half the KV bytes per
    /// token); the trainer stays fp32 (EngineOptions.DType).</summary>
    public string DType { get; set; } = "float32";

    /// <summary>Engines that sleep for a cost model's step time and answer from a seeded script instead of running the
    /// model (scale tests without the hardware: `bench scale`); the model folder still gives the tokenizer.</summary>
    public bool Simulated { get; set; }

    /// <summary>The simulated engine's cost model and answers (used with <see cref="Simulated"/>).</summary>
    public EngineSimulationOptions Simulation { get; set; } = new();
}
