using TreePO.Core.Protocol;
using TreePO.Engine.Kv;
using TreePO.Engine.Model;
using TreePO.Engine.Sampling;
using TreePO.Engine.Scheduling;
using static TorchSharp.torch;

namespace TreePO.Engine.Execution;

/// <summary>
/// Runs one step over the running batch: builds it (the next token of every decoding branch, then up to
/// <c>prefillChunk</c> context tokens of the requests still prefilling), runs the cached forward, forks requests whose
/// context is complete, samples every branch at once and ends the branches that hit EOS or their length. Model-thread
/// only.
/// </summary>
internal sealed class StepRunner(Qwen2Model model, KvCache cache, KvPool pool, IReadOnlySet<int> eos, int prefillChunk)
{
    /// <summary>Context tokens computed (not found in the cache).</summary>
    public long Prefilled { get; private set; }
    /// <summary>Forward positions computed while sampling.</summary>
    public long Decoded { get; private set; }
    public long Steps { get; private set; }
    public long BatchSum { get; private set; }
    public int MaxBatch { get; private set; }

    /// <summary>One step; returns the requests whose branches have all finished (still in <paramref name="running"/>).</summary>
    public List<RequestState> Step(IReadOnlyList<RequestState> running)
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
        int budget = prefillChunk;
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
        if (items.Count == 0) return [];

        var logits = model.Step(cache, items);
        Steps++;
        BatchSum += items.Count;
        MaxBatch = Math.Max(MaxBatch, items.Count);

        foreach (var (r, start, count) in prefills)
        {
            r.Branches[0].Slot.Tokens.AddRange(r.Request.Context.AsSpan(start, count));
            r.Prefilled += count;
            Prefilled += count;
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
                Decoded++;
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
        return running.Where(r => r.Branches.All(b => b.Done)).ToList();
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
