using TreePO.Core.Trees;
using TreePO.Core.Protocol;
using TreePO.Engine.Kv;
using TreePO.Engine.Sampling;

namespace TreePO.Engine.Scheduling;

/// <summary>One branch of a running request: its slot, what it sampled, and the token to feed next.</summary>
internal sealed class BranchState(int index, KvSlot slot, SeededRandom rng)
{
    public int Index { get; } = index;
    public KvSlot Slot { get; } = slot;
    public SeededRandom Rng { get; } = rng;
    public List<int> Tokens { get; } = [];
    public List<float> LogProbs { get; } = [];
    /// <summary>The prefix hash (<see cref="PrefixLedger"/>) of the path up to the last token fed.</summary>
    public ulong PathHash { get; set; }
    public bool Done { get; set; }
    public SegmentFinish Finish { get; set; }
}

/// <summary>A request from submission to completion. Model-thread only, except <see cref="Completion"/>.</summary>
internal sealed class RequestState(SegmentRequest request, CancellationToken cancellation)
{
    public SegmentRequest Request { get; } = request;
    public CancellationToken Cancellation { get; } = cancellation;
    public TaskCompletionSource<SegmentResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public CancellationTokenRegistration Registration { get; set; }

    /// <summary>Tokens each branch may sample (the request's MaxTokens, capped by the slot length).</summary>
    public int MaxNew { get; set; }
    public BranchState[] Branches { get; set; } = [];
    public bool Admitted => Branches.Length > 0;
    /// <summary>Context tokens whose K/V the lead slot holds; the request decodes once it reaches the context length.</summary>
    public bool Prefilling => Admitted && Branches[0].Slot.Tokens.Count < Request.Context.Length && Branches[0].Tokens.Count == 0;
    public KvNode? ParentNode { get; set; }
    /// <summary>The cached node this request continues, pinned from enqueue until admission (or failure).</summary>
    public KvNode? Pin { get; set; }
    /// <summary>Arrival order (ties of the scheduler's priority).</summary>
    public long Arrival { get; set; }
    public int Prefilled { get; set; }
    public int Decoded { get; set; }
    public int Reused { get; set; }
    /// <summary>Context positions prefilled although their K/V had been computed before under the same weights.</summary>
    public int Recomputed { get; set; }
    /// <summary>Prefix hashes of the context (<see cref="PrefixLedger.PrefixHashes"/>), computed on first use.</summary>
    public ulong[] ContextHashes => contextHashes ??= PrefixLedger.PrefixHashes(Request.Context);
    ulong[]? contextHashes;

    public void Reset()
    {
        Branches = [];
        ParentNode = null;
        Prefilled = Decoded = Reused = Recomputed = 0;
    }
}
