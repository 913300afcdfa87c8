using TreePO.Engine.Kv;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Model;

/// <summary>
/// The per-step layout shared by every layer: the flattened tokens and positions, where each new K/V row goes in
/// the slot-major cache, and the attention groups. Single-token items on consecutive slots form one batched attention
/// over a <c>narrow</c> view: at one position with no mask (every key row is valid); at different positions (a tree's
/// paths at neighbouring depths) with a mask of each row's keys, as long as the padding at most doubles the keys read
/// (each attention call costs a few dozen microseconds of fixed work, which at small model sizes is more than the
/// padding). Longer items (prefill chunks) attend one by one with an explicit causal mask offset by their start. Built
/// inside the caller's dispose scope.
/// </summary>
internal sealed class StepPlan
{
    internal abstract record Group(int Row, int Rows);
    /// <summary><paramref name="Count"/> single-token items on slots [SlotStart, SlotStart + Count), each with
    /// <paramref name="Length"/> keys, or with those of <paramref name="Mask"/> (<c>[Count, 1, 1, Length]</c>, true
    /// where a row attends) when their lengths differ.</summary>
    internal sealed record Run(int Row, int SlotStart, int Count, int Length, Tensor? Mask = null) : Group(Row, Count);
    /// <summary>Every single-token item of the step, rows [Row, Row + Rows): row k attends to the first
    /// <paramref name="Lengths"/>[k] keys of slot <paramref name="Slots"/>[k], in one host pass (<see cref="DecodeAttention"/>).</summary>
    internal sealed record Decode(int Row, int Rows, int[] Slots, int[] Lengths) : Group(Row, Rows);
    /// <summary>A chunk of <paramref name="Rows"/> tokens at positions [Start, Start + Rows) of one slot.</summary>
    internal sealed record Chunk(int Row, int Rows, int Slot, int Start, Tensor Mask) : Group(Row, Rows);

    public required Tensor Tokens { get; init; }      // [N] int64
    public required Tensor Positions { get; init; }   // [N] int64
    public required Tensor WriteRows { get; init; }   // [N * kvHeads] rows of the flattened [slots*kvH*maxLen, D] cache
    public required Tensor LogitRows { get; init; }   // [R] rows whose logits the caller wants, in item order
    public required IReadOnlyList<Group> Groups { get; init; }
    /// <summary><see cref="Positions"/> and <see cref="WriteRows"/> as the host arrays they were made from (the host passes read these).</summary>
    public required long[] HostPositions { get; init; }
    public required long[] HostWriteRows { get; init; }
    public int Count { get; init; }

    /// <summary>The most runs a step's single-token items attend in through libtorch's kernel when the host pass is
    /// allowed: one or two runs of equal lengths (a batch of sequences side by side) it can serve better, long contexts
    /// of many query heads a KV head especially (below); past that its fixed cost a call outweighs what the host pass
    /// loses per key, and a ragged run (masked, padded to its longest row) costs it more than the host pass, which reads
    /// each row's own keys only.</summary>
    public const int MaxRunsForKernel = 2;

    /// <summary>One or two equal-length runs still take the host pass while a row's work a KV head (its group's query
    /// heads x keys x head size) is at most this. Timed alone on one thread (a single run, 1 to 150 rows), the pass took
    /// 0.14-0.86 of the kernel's time for the built-in model's heads (2 query heads of 32 a KV head) at every length up
    /// to 200 keys, and 1.28-1.74 of it for Qwen2.5-0.5B's (7 of 64) from 128 keys at 16 rows: the pass reads a KV
    /// head's keys once per query head of its group, the kernel once for all.</summary>
    public const long MaxHostWorkForKernelRuns = 16_384;

    /// <param name="hostDecode">Single-token items may attend in one <see cref="Decode"/> group on the host instead of
    /// runs of neighbouring slots (a CPU model in fp32, <see cref="HostMemory.Serves"/>): they do when they would
    /// make more than <see cref="MaxRunsForKernel"/> runs, or any ragged one, or their work a row is small
    /// (<see cref="MaxHostWorkForKernelRuns"/>).</param>
    public static StepPlan Build(IReadOnlyList<StepItem> items, KvCache cache, int groups, Device device, bool hostDecode = false)
    {
        if (items.Count == 0) throw new ArgumentException("a step needs at least one item", nameof(items));
        var singles = new List<int>();
        var chunks = new List<int>();
        for (int i = 0; i < items.Count; i++)
        {
            var it = items[i];
            if (it.Tokens.Length == 0) throw new ArgumentException($"step item {i} has no tokens", nameof(items));
            if (it.Slot < 0 || it.Slot >= cache.Slots) throw new ArgumentException($"step item {i}: slot {it.Slot} is outside [0, {cache.Slots})", nameof(items));
            if (it.Start < 0 || it.Start + it.Tokens.Length > cache.MaxLength)
                throw new ArgumentException($"step item {i}: positions [{it.Start}, {it.Start + it.Tokens.Length}) exceed the cache length {cache.MaxLength}", nameof(items));
            (it.Tokens.Length == 1 ? singles : chunks).Add(i);
        }
        singles.Sort((a, b) => items[a].Slot.CompareTo(items[b].Slot));

        int n = items.Sum(i => i.Tokens.Length);
        var tokens = new long[n];
        var positions = new long[n];
        var firstRow = new int[items.Count];
        var groupList = new List<Group>();

        // Runs of consecutive slots: each attends in one libtorch call, over the longest length with a mask where
        // lengths differ, as long as the padding at most doubles the keys read.
        var runs = new List<(int S, int E, int Longest, bool Ragged)>();
        int longestRun = 0;
        bool anyRagged = false;
        for (int s = 0; s < singles.Count;)
        {
            int e = s + 1;
            var head = items[singles[s]];
            int longest = head.Start + 1;
            long keys = longest;
            bool ragged = false;
            while (e < singles.Count && items[singles[e]].Slot == head.Slot + (e - s))
            {
                int length = items[singles[e]].Start + 1, wider = Math.Max(longest, length);
                if (length != longest && (long)(e - s + 1) * wider > 2 * (keys + length)) break;
                ragged |= length != longest;
                longest = wider;
                keys += length;
                e++;
            }
            runs.Add((s, e, longest, ragged));
            longestRun = Math.Max(longestRun, longest);
            anyRagged |= ragged;
            s = e;
        }
        // Single-token rows first, in slot order (a run's rows are consecutive).
        for (int k = 0; k < singles.Count; k++)
        {
            var it = items[singles[k]];
            firstRow[singles[k]] = k;
            tokens[k] = it.Tokens[0];
            positions[k] = it.Start;
        }
        int row = singles.Count;
        if (hostDecode && runs.Count > 0 && (runs.Count > MaxRunsForKernel || anyRagged
                || (long)groups * longestRun * cache.HeadDim <= MaxHostWorkForKernelRuns))
            groupList.Add(new Decode(0, singles.Count, [.. singles.Select(i => items[i].Slot)], [.. singles.Select(i => items[i].Start + 1)]));
        else
            foreach (var (s, e, longest, ragged) in runs)
            {
                // A ragged run reads every slot's rows up to the longest, past the shorter ones' ends (masked out).
                if (ragged)
                    for (int k = s; k < e; k++) cache.Reach(items[singles[k]].Slot, longest);
                groupList.Add(new Run(s, items[singles[s]].Slot, e - s, longest, ragged ? KeyMask(items, singles, s, e, longest, device) : null));
            }
        foreach (int i in chunks)
        {
            var it = items[i];
            int t = it.Tokens.Length, len = it.Start + t;
            firstRow[i] = row;
            for (int j = 0; j < t; j++)
            {
                tokens[row + j] = it.Tokens[j];
                positions[row + j] = it.Start + j;
            }
            // Query j (at position Start + j) sees keys 0..Start + j. Rows are laid out group-major (g * T + j) to match
            // the grouped-query view of the queries.
            var causal = TensorArithmetic.Range(0, len, device: device).unsqueeze(0) <= TensorArithmetic.Range(it.Start, it.Start + t, device: device).unsqueeze(1);
            groupList.Add(new Chunk(row, t, it.Slot, it.Start, causal.repeat(groups, 1)));
            row += t;
        }

        int kvH = cache.KvHeads, maxLen = cache.MaxLength;
        var write = new long[n * kvH];
        for (int i = 0; i < items.Count; i++)
        {
            var it = items[i];
            cache.Reach(it.Slot, it.Start);   // rows below where the item writes; marked written after the forward
            for (int j = 0; j < it.Tokens.Length; j++)
                for (int h = 0; h < kvH; h++)
                    write[(firstRow[i] + j) * kvH + h] = ((long)it.Slot * kvH + h) * maxLen + it.Start + j;
        }
        var logitRows = new List<long>();
        for (int i = 0; i < items.Count; i++)
            if (items[i].WantLogits) logitRows.Add(firstRow[i] + items[i].Tokens.Length - 1);

        return new StepPlan
        {
            Tokens = tensor(tokens, device: device),
            Positions = tensor(positions, device: device),
            WriteRows = tensor(write, device: device),
            LogitRows = tensor(logitRows.ToArray(), device: device),
            Groups = groupList,
            HostPositions = positions,
            HostWriteRows = write,
            Count = n,
        };
    }

    /// <summary>Which keys each row of a ragged run attends: its own <c>Start + 1</c>, of <paramref name="longest"/>.</summary>
    static Tensor KeyMask(IReadOnlyList<StepItem> items, List<int> singles, int s, int e, int longest, Device device)
    {
        var mask = new bool[(e - s) * longest];
        for (int k = s; k < e; k++)
            Array.Fill(mask, true, (k - s) * longest, items[singles[k]].Start + 1);
        return tensor(mask, [e - s, 1, 1, longest], device: device);
    }
}
