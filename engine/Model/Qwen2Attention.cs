using TorchSharp;
using TorchSharp.Modules;
using TreePO.Engine.Kv;
using static TorchSharp.torch;

namespace TreePO.Engine.Model;

/// <summary>
/// Grouped-query self-attention with q/k/v bias and rotary embeddings. The cached path writes the new K/V rows into
/// the slot-major cache and attends over <c>narrow</c> views of it, viewing the queries of one KV head's group as extra
/// query rows so that K/V are never repeated. The full path (training, no cache) repeats K/V and uses the causal flag,
/// which is only correct there because queries and keys cover the same positions, or, for tree-packed rows, an
/// explicit mask (a token sees itself and its ancestors).
/// </summary>
public sealed class Qwen2Attention : nn.Module
{
    readonly Linear q_proj;
    readonly Linear k_proj;
    readonly Linear v_proj;
    readonly Linear o_proj;
    readonly int heads, kvHeads, headDim;
    FusedProjection? qkv;
    StepMatrix? output;

    public Qwen2Attention(Qwen2Config c) : base(nameof(Qwen2Attention))
    {
        heads = c.NumAttentionHeads;
        kvHeads = c.NumKeyValueHeads;
        headDim = c.HeadDim;
        q_proj = nn.Linear(c.HiddenSize, heads * headDim, hasBias: true);
        k_proj = nn.Linear(c.HiddenSize, kvHeads * headDim, hasBias: true);
        v_proj = nn.Linear(c.HiddenSize, kvHeads * headDim, hasBias: true);
        o_proj = nn.Linear(heads * headDim, c.HiddenSize, hasBias: false);
        RegisterComponents();
    }

    internal IEnumerable<Tensor> Weights => [q_proj.weight!, k_proj.weight!, v_proj.weight!, o_proj.weight!];

    /// <summary>Makes q/k/v one product for the cached step (see <see cref="FusedProjection"/>).</summary>
    internal void Fuse()
    {
        qkv?.Dispose();
        qkv = new FusedProjection(q_proj, k_proj, v_proj);
        output?.Dispose();
        output = new StepMatrix(() => o_proj.weight!);
    }

    internal IEnumerable<StepMatrix> StepMatrices => [qkv!.Step, output!];

    /// <summary>x <c>[B, T, hidden]</c>, cos/sin broadcastable to <c>[B, T, 1, D]</c> (<c>[T, 1, D]</c> for positions
    /// 0..T-1, <c>[B, T, 1, D]</c> for explicit position ids). Without <paramref name="mask"/>: causal attention over
    /// the same T positions; with it (<c>[B, T, T]</c> bool, true = may attend): exactly the keys it allows.</summary>
    public Tensor ForwardFull(Tensor x, Tensor cos, Tensor sin, Tensor? mask = null)
    {
        using var scope = NewDisposeScope();
        long b = x.size(0), t = x.size(1);
        int g = heads / kvHeads;
        var c = cos;
        var s = sin;
        var q = RotaryTable.Apply(q_proj.forward(x).view(b, t, heads, headDim), c, s).transpose(1, 2);
        var k = RotaryTable.Apply(k_proj.forward(x).view(b, t, kvHeads, headDim), c, s).transpose(1, 2);
        var v = v_proj.forward(x).view(b, t, kvHeads, headDim).transpose(1, 2);
        // Query head h uses KV head h / g, as HF's repeat_kv.
        k = k.unsqueeze(2).expand(b, kvHeads, g, t, headDim).reshape(b, heads, t, headDim);
        v = v.unsqueeze(2).expand(b, kvHeads, g, t, headDim).reshape(b, heads, t, headDim);
        var o = mask is null
            ? nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true)
            : nn.functional.scaled_dot_product_attention(q, k, v, mask.unsqueeze(1));
        return o_proj.forward(o.transpose(1, 2).reshape(b, t, heads * headDim)).MoveToOuterDisposeScope();
    }

    /// <summary>x <c>[N, hidden]</c> laid out by <paramref name="plan"/>, cos/sin <c>[N, 1, D]</c>; with
    /// <paramref name="rope"/>, the rotation and the K/V write in one pass over host memory instead (cos/sin unused).</summary>
    internal Tensor ForwardStep(Tensor x, Tensor? cos, Tensor? sin, StepPlan plan, KvCache cache, int layer, RotaryTable? rope)
    {
        using var scope = NewDisposeScope();
        long n = x.size(0);
        int g = heads / kvHeads;
        if (qkv is null) throw new InvalidOperationException("the cached step needs the fused projections (Qwen2Model fuses them)");
        // One product for q, k and v, and one rotation for q and k together: fewer small ops per layer.
        var all = qkv.Forward(x).view(n, heads + 2 * kvHeads, headDim);
        Tensor q;
        if (rope is not null)
            q = HostRotary.Apply(all, heads, kvHeads, rope, plan.HostPositions, plan.HostWriteRows, cache.FlatKeys(layer), cache.FlatValues(layer));
        else
        {
            if (cos is null || sin is null) throw new ArgumentException("the cached step in libtorch needs the rotary rows");
            var qk = RotaryTable.Apply(all.narrow(1, 0, heads + kvHeads), cos, sin);
            q = qk.narrow(1, 0, heads);
            var k = qk.narrow(1, heads, kvHeads);
            var v = all.narrow(1, heads + kvHeads, kvHeads);
            cache.FlatKeys(layer).index_copy_(0, plan.WriteRows, k.reshape(n * kvHeads, headDim));
            cache.FlatValues(layer).index_copy_(0, plan.WriteRows, v.reshape(n * kvHeads, headDim));
        }

        var keys = cache.Keys(layer);
        var values = cache.Values(layer);
        var outputs = new List<Tensor>(plan.Groups.Count);
        foreach (var group in plan.Groups)
        {
            if (group is StepPlan.Run run)
            {
                // [count, kvH, g, D] queries against [count, kvH, L, D] keys: every key row valid, or the run's mask.
                var qg = q.narrow(0, run.Row, run.Count).view(run.Count, kvHeads, g, headDim);
                var kk = keys.narrow(0, run.SlotStart, run.Count).narrow(2, 0, run.Length);
                var vv = values.narrow(0, run.SlotStart, run.Count).narrow(2, 0, run.Length);
                var o = run.Mask is null
                    ? nn.functional.scaled_dot_product_attention(qg, kk, vv)
                    : nn.functional.scaled_dot_product_attention(qg, kk, vv, run.Mask);
                outputs.Add(o.reshape(run.Count, heads * headDim));
            }
            else if (group is StepPlan.Decode decode)
                outputs.Add(DecodeAttention.Attend(q.narrow(0, decode.Row, decode.Rows), keys, values, decode.Slots, decode.Lengths));
            else if (group is StepPlan.Chunk chunk)
            {
                int t = chunk.Rows, len = chunk.Start + t;
                // [kvH, g*T, D] queries (group-major rows) against the slot's [kvH, L, D] keys, causal mask offset by Start.
                var qg = q.narrow(0, chunk.Row, t).view(t, kvHeads, g, headDim).permute(1, 2, 0, 3).reshape(kvHeads, g * t, headDim);
                var kk = keys[chunk.Slot].narrow(1, 0, len);
                var vv = values[chunk.Slot].narrow(1, 0, len);
                var o = nn.functional.scaled_dot_product_attention(qg, kk, vv, chunk.Mask);
                outputs.Add(o.view(kvHeads, g, t, headDim).permute(2, 0, 1, 3).reshape(t, heads * headDim));
            }
        }
        var attended = outputs.Count == 1 ? outputs[0] : cat(outputs, 0);
        return output!.Forward(attended).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            qkv?.Dispose();
            output?.Dispose();
        }
        base.Dispose(disposing);
    }
}
