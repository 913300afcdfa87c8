using TorchSharp;
using TorchSharp.Modules;
using TreePO.Engine.Kv;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Model;

/// <summary>
/// Qwen2ForCausalLM. Its state-dict keys are Hugging Face's (<c>model.layers.0.self_attn.q_proj.weight</c>, ...,
/// <c>lm_head.weight</c> only when untied). Tied embeddings stay tied: the output projection is
/// <c>linear(h, model.embed_tokens.weight)</c>, never a copy. Two forward paths share the weights: <see cref="Step"/>
/// (cached, batched, for generation) and <see cref="Forward"/> / <see cref="HiddenStates(Tensor)"/> /
/// <see cref="TokenLogProbs(Tensor, Tensor, int)"/> (full causal, no cache, autograd-friendly, for the policy update),
/// the latter two also with explicit position ids and attention mask (tree-packed rows). Its weights are fp32, or bf16
/// for an inference engine (<see cref="DType"/>): then the activations and K/V are bf16 too, while RMSNorm's variance and
/// the rotary tables are computed in fp32 and the logits returned in fp32, as Hugging Face runs a bf16 Qwen2.
/// </summary>
public sealed class Qwen2Model : nn.Module
{
    readonly Qwen2Decoder model;
    readonly Linear? lm_head;
    readonly StepMatrix head;
    RotaryTable rope;

    public Qwen2Config Config { get; }
    public Device Device { get; private set; }
    /// <summary>The element type of the weights, the activations and the K/V rows: fp32 or bf16.</summary>
    public ScalarType DType { get; }

    /// <param name="dtype">fp32 (training, and engines by default) or bf16 (an engine's <c>EngineOptions.DType</c>).</param>
    public Qwen2Model(Qwen2Config config, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(nameof(Qwen2Model))
    {
        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16))
            throw new ArgumentException($"a Qwen2Model holds float32 or bfloat16 weights, not {dtype}", nameof(dtype));
        config.Validate();
        Config = config;
        model = new Qwen2Decoder(config);
        if (!config.TieWordEmbeddings) lm_head = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false);
        RegisterComponents();
        Device = device ?? CPU;
        if (Device.type != DeviceType.CPU) this.to(Device);
        DType = dtype;
        // Before fusing, as the move to the device is: the fused buffers are made of the parameters as they are then.
        if (dtype != ScalarType.Float32) this.to(dtype);
        foreach (var layer in model.layers) layer.Fuse();
        head = new StepMatrix(() => OutputWeight);
        rope = new RotaryTable(config.HeadDim, config.RopeTheta, Math.Min(config.MaxPositionEmbeddings, 4096), Device);
    }

    /// <summary>A model with reproducible random weights: matrices and biases ~ N(0, initializer_range), norm weights
    /// 1 + N(0, initializer_range) (non-trivial norms and biases, so tests exercise them).</summary>
    public static Qwen2Model Random(Qwen2Config config, ulong seed, Device? device = null)
    {
        var m = new Qwen2Model(config, device);
        m.Randomize(seed);
        return m;
    }

    public void Randomize(ulong seed)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var gen = new Generator(seed, Device);
        double std = Config.InitializerRange;
        foreach (var (name, p) in named_parameters())
        {
            var r = randn(p.shape, ScalarType.Float32, Device, generator: gen).Times(std);
            p.copy_(name.EndsWith("norm.weight") ? r.Plus(1) : r);
        }
        WeightsChanged();
    }

    /// <summary>Call after writing any parameter in place (loading and staged weight updates do): the cached step's
    /// laid-out copies of the weight matrices (<see cref="StepMatrix"/>) are made again at the next step. On the
    /// model's thread, as every use of the model.</summary>
    public void WeightsChanged()
    {
        foreach (var m in StepMatrices) m.Invalidate();
    }

    /// <summary>The cached step's matrix products, in the order it makes them: q/k/v and o, gate/up and down of each
    /// layer, then the output projection.</summary>
    public IEnumerable<StepMatrix> StepMatrices => model.layers.SelectMany(l => l.StepMatrices).Append(head);

    /// <summary>The output projection's weight: the embedding itself when tied.</summary>
    public Tensor OutputWeight => lm_head?.weight ?? model.embed_tokens.weight!;

    /// <summary>Every matrix a decode step multiplies by, in order (for benchmarks: the matmuls-alone baseline).</summary>
    public IEnumerable<Tensor> MatmulWeights => model.layers.SelectMany(l => l.MatmulWeights).Append(OutputWeight);

    void EnsureRope(long length)
    {
        if (length <= rope.Length) return;
        if (length > Config.MaxPositionEmbeddings)
            throw new ArgumentException($"{length} positions exceed max_position_embeddings {Config.MaxPositionEmbeddings}");
        int n = (int)Math.Min(Config.MaxPositionEmbeddings, Math.Max(length, 2L * rope.Length));
        rope.Dispose();
        rope = new RotaryTable(Config.HeadDim, Config.RopeTheta, n, Device);
    }

    /// <summary>A slice of the fp32 rotary table in the activations' dtype (HF casts cos/sin likewise), so that q and k
    /// stay bf16 in a bf16 model; fp32 tables are used as they are.</summary>
    Tensor AsActivations(Tensor table) => DType == ScalarType.Float32 ? table : table.to(DType);

    /// <summary>Logits in fp32 whatever the model's dtype: sampling and log-softmax read them as fp32 (a bf16 model's
    /// vocabulary projection is made in bf16, as HF does, and widened).</summary>
    static Tensor AsFp32(Tensor logits) => logits.dtype == ScalarType.Float32 ? logits : logits.to(ScalarType.Float32);

    /// <summary>Final-norm hidden states <c>[B, T, hidden]</c> of a full causal pass over <paramref name="inputIds"/>
    /// <c>[B, T]</c> (right padding is harmless: no position attends to a later one).</summary>
    public Tensor HiddenStates(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        long t = inputIds.size(-1);
        EnsureRope(t);
        var ids = inputIds.dim() == 1 ? inputIds.unsqueeze(0) : inputIds;
        var cos = AsActivations(rope.Cos.narrow(0, 0, t).unsqueeze(1));
        var sin = AsActivations(rope.SignedSin.narrow(0, 0, t).unsqueeze(1));
        var x = model.embed_tokens.forward(ids);
        foreach (var layer in model.layers) x = layer.ForwardFull(x, cos, sin);
        return model.norm.forward(x).MoveToOuterDisposeScope();
    }

    /// <summary>Final-norm hidden states <c>[B, T, hidden]</c> of a pass with explicit position ids
    /// <paramref name="positions"/> <c>[B, T]</c> (int64) and attention mask <paramref name="mask"/> <c>[B, T, T]</c>
    /// (bool, true where query row i may attend key column j): the tree-packed layout of the policy update, where a
    /// token sees only itself and its ancestors and its position is its depth on its own path. Every row of the mask
    /// must allow at least one key (padding attends to itself).</summary>
    public Tensor HiddenStates(Tensor inputIds, Tensor positions, Tensor mask)
    {
        using var scope = NewDisposeScope();
        long b = inputIds.size(0), t = inputIds.size(1);
        if (positions.size(0) != b || positions.size(1) != t)
            throw new ArgumentException($"positions [{string.Join(", ", positions.shape)}] do not match the ids [{b}, {t}]");
        if (mask.dim() != 3 || mask.size(0) != b || mask.size(1) != t || mask.size(2) != t)
            throw new ArgumentException($"mask [{string.Join(", ", mask.shape)}] must be [{b}, {t}, {t}]");
        EnsureRope(positions.max().item<long>() + 1);
        var flat = positions.reshape(b * t);
        var cos = AsActivations(rope.Cos.index_select(0, flat).view(b, t, 1, Config.HeadDim));
        var sin = AsActivations(rope.SignedSin.index_select(0, flat).view(b, t, 1, Config.HeadDim));
        var x = model.embed_tokens.forward(inputIds);
        foreach (var layer in model.layers) x = layer.ForwardFull(x, cos, sin, mask);
        return model.norm.forward(x).MoveToOuterDisposeScope();
    }

    /// <summary>Log-probs <c>[N]</c> of <paramref name="targets"/> <c>[N]</c>, target n predicted from the hidden state
    /// at flat index <paramref name="rows"/>[n] (row-major over <c>[B, T]</c>) of the masked pass
    /// <see cref="HiddenStates(Tensor, Tensor, Tensor)"/>: only the positions that predict a scored token are projected
    /// to the vocabulary, <paramref name="chunk"/> at a time.</summary>
    public Tensor TokenLogProbs(Tensor inputIds, Tensor positions, Tensor mask, Tensor rows, Tensor targets, int chunk = 256)
    {
        if (chunk <= 0) throw new ArgumentOutOfRangeException(nameof(chunk), chunk, "must be positive");
        using var scope = NewDisposeScope();
        var h = HiddenStates(inputIds, positions, mask);
        var picked = h.reshape(h.size(0) * h.size(1), h.size(2)).index_select(0, rows);
        long n = picked.size(0);
        var parts = new List<Tensor>();
        for (long s = 0; s < n; s += chunk)
        {
            long m = Math.Min(chunk, n - s);
            var logits = AsFp32(nn.functional.linear(picked.narrow(0, s, m), OutputWeight));
            parts.Add(logits.gather(-1, targets.narrow(0, s, m).unsqueeze(-1)).squeeze(-1).Minus(logits.logsumexp(-1)));
        }
        return (parts.Count == 1 ? parts[0] : cat(parts, 0)).MoveToOuterDisposeScope();
    }

    /// <summary>Logits <c>[B, T, vocab]</c> of a full causal pass (no cache; autograd follows the grad mode).</summary>
    public Tensor Forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        return AsFp32(nn.functional.linear(HiddenStates(inputIds), OutputWeight)).MoveToOuterDisposeScope();
    }

    /// <summary><c>log p(targets[b, t] | inputIds[b, ..t])</c> as <c>[B, T]</c>, computing the vocabulary projection
    /// <paramref name="chunk"/> positions at a time so that <c>[B, T, vocab]</c> logits never exist at once.</summary>
    public Tensor TokenLogProbs(Tensor inputIds, Tensor targets, int chunk = 128)
    {
        if (chunk <= 0) throw new ArgumentOutOfRangeException(nameof(chunk), chunk, "must be positive");
        using var scope = NewDisposeScope();
        var h = HiddenStates(inputIds);
        var tg = targets.dim() == 1 ? targets.unsqueeze(0) : targets;
        long t = h.size(1);
        var parts = new List<Tensor>();
        for (long s = 0; s < t; s += chunk)
        {
            long n = Math.Min(chunk, t - s);
            var logits = AsFp32(nn.functional.linear(h.narrow(1, s, n), OutputWeight));
            var picked = logits.gather(-1, tg.narrow(1, s, n).unsqueeze(-1)).squeeze(-1);
            parts.Add(picked.Minus(logits.logsumexp(-1)));
        }
        return cat(parts, 1).MoveToOuterDisposeScope();
    }

    /// <summary>Whether the cached step's single-token rows may attend in one host pass where the model runs on a CPU in
    /// fp32 (<see cref="DecodeAttention"/>; they do when they would make more than <see cref="StepPlan.MaxRunsForKernel"/>
    /// runs, or a ragged one); false: libtorch's attention per run of neighbouring slots always, as on a GPU.</summary>
    public bool HostDecode { get; set; } = true;

    /// <summary>Whether the cached step's element-wise work (norms with their residual sums, the rotation with the K/V
    /// write, the SwiGLU activation) runs in passes over host memory where the model runs on a CPU in fp32
    /// (<see cref="HostNorm"/>, <see cref="HostRotary"/>, <see cref="HostSwiGlu"/>): about three times fewer libtorch calls a
    /// layer; false: libtorch's ops always, as on a GPU.</summary>
    public bool HostPasses { get; set; } = true;

    /// <summary>One cached forward step over <paramref name="items"/>: writes their K/V into <paramref name="cache"/> and
    /// returns the fp32 logits <c>[R, vocab]</c> of the last token of each item that wants them, in item order.</summary>
    public Tensor Step(KvCache cache, IReadOnlyList<StepItem> items)
    {
        if (cache.DType != DType)
            throw new ArgumentException($"the KV cache holds {cache.DType}, the model computes in {DType}", nameof(cache));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        EnsureRope(cache.MaxLength);
        bool onHost = HostMemory.Serves(Device, DType);
        var plan = StepPlan.Build(items, cache, Config.KvGroups, Device, HostDecode && onHost);
        bool host = HostPasses && onHost;
        Tensor? cos = null, sin = null;
        if (!host)
        {
            cos = AsActivations(rope.Cos.index_select(0, plan.Positions).unsqueeze(1));
            sin = AsActivations(rope.SignedSin.index_select(0, plan.Positions).unsqueeze(1));
        }
        var x = model.embed_tokens.forward(plan.Tokens);
        int l = 0;
        foreach (var layer in model.layers) x = layer.ForwardStep(x, cos, sin, plan, cache, l++, host ? rope : null);
        foreach (var it in items) cache.Wrote(it.Slot, it.Start + it.Tokens.Length);
        var last = model.norm.ForwardStep(x.index_select(0, plan.LogitRows), host);
        return AsFp32(head.Forward(last)).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            rope.Dispose();
            head.Dispose();
        }
        base.Dispose(disposing);
    }
}
