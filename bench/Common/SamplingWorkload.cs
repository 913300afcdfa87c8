using TreePO.Core.Protocol;
using TreePO.Core.Trees;
using TreePO.Engine;

namespace TreePO.Bench.Common;

/// <summary>Everything both modes share: the engine settings, the queries, the tree shape and the sampling.</summary>
public sealed record SamplingWorkload(
    BenchModel Model,
    IReadOnlyList<QueryItem> Queries,
    int Width,
    int Depth,
    int SegmentLength,
    int Branch,
    SamplingParams Sampling,
    int Threads,
    int Slots,
    long KvBudgetBytes,
    int PrefillChunk,
    ulong Seed,
    int InitDivergenceMin = -1,
    int InitDivergenceMax = -1,
    string Device = "cpu",
    int MaxSequenceLength = 0)
{
    public int Budget => Depth * SegmentLength;

    public EngineOptions EngineOptions => new()
    {
        ModelPath = Model.Dir,
        MaxSlots = Slots,
        KvBudgetBytes = KvBudgetBytes,
        PrefillChunk = PrefillChunk,
        Threads = Threads,
        EosTokenIds = [.. Model.StopIds],
        Device = Device,
        MaxSequenceLength = MaxSequenceLength,
    };

    /// <summary>The tree configuration of a mode; everything but the mode (and the width of a no-sharing sample) is shared.</summary>
    public TreeConfig TreeConfig(RunMode mode) => new()
    {
        Width = mode == RunMode.NoSharing ? 1 : Width,
        Depth = Depth,
        SegmentLength = SegmentLength,
        Branch = Branch,
        InitDivergenceMin = InitDivergenceMin,
        InitDivergenceMax = InitDivergenceMax,
        Sampling = Sampling,
        Mode = mode == RunMode.Tree ? SamplingMode.Tree : SamplingMode.Sequential,
    };

    public object ToJson() => new
    {
        model = Model.Description,
        model_dir = Model.Dir,
        stand_in_model = Model.IsStandIn,
        model_shape = new
        {
            vocab = Model.Config.VocabSize, hidden = Model.Config.HiddenSize, layers = Model.Config.NumHiddenLayers,
            heads = Model.Config.NumAttentionHeads, kv_heads = Model.Config.NumKeyValueHeads,
            intermediate = Model.Config.IntermediateSize,
        },
        queries = Queries.Count,
        query_ids = Queries.Select(q => q.Id),
        mean_prompt_tokens = Queries.Average(q => q.PromptTokens.Length),
        w = Width, d = Depth, l = SegmentLength, b = Branch, budget_tokens = Budget,
        init_divergence_min = InitDivergenceMin, init_divergence_max = InitDivergenceMax,
        temperature = Sampling.Temperature, top_p = Sampling.TopP, top_k = Sampling.TopK,
        device = Device, max_sequence_length = MaxSequenceLength,
        threads = Threads, slots = Slots, kv_budget_bytes = KvBudgetBytes, prefill_chunk = PrefillChunk, seed = Seed,
    };
}
