using TorchSharp;
using TreePO.Engine.Kv;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Model;

/// <summary>Pre-norm block: <c>x + attn(norm(x))</c>, then <c>x + mlp(norm(x))</c>.</summary>
public sealed class Qwen2DecoderLayer : nn.Module
{
    readonly RmsNorm input_layernorm;
    readonly Qwen2Attention self_attn;
    readonly RmsNorm post_attention_layernorm;
    readonly Qwen2Mlp mlp;

    public Qwen2DecoderLayer(Qwen2Config c) : base(nameof(Qwen2DecoderLayer))
    {
        input_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps);
        self_attn = new Qwen2Attention(c);
        post_attention_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps);
        mlp = new Qwen2Mlp(c);
        RegisterComponents();
    }

    internal IEnumerable<Tensor> MatmulWeights => self_attn.Weights.Concat(mlp.Weights);
    internal IEnumerable<StepMatrix> StepMatrices => self_attn.StepMatrices.Concat(mlp.StepMatrices);

    public Tensor ForwardFull(Tensor x, Tensor cos, Tensor sin, Tensor? mask = null)
    {
        using var scope = NewDisposeScope();
        var h = x.Plus(self_attn.ForwardFull(input_layernorm.forward(x), cos, sin, mask));
        return h.Plus(mlp.forward(post_attention_layernorm.forward(h))).MoveToOuterDisposeScope();
    }

    internal void Fuse()
    {
        self_attn.Fuse();
        mlp.Fuse();
    }

    /// <summary>The cached step; with <paramref name="rope"/> its element-wise work runs in passes over host memory
    /// (then <paramref name="cos"/> and <paramref name="sin"/> are unused), else in libtorch.</summary>
    internal Tensor ForwardStep(Tensor x, Tensor? cos, Tensor? sin, StepPlan plan, KvCache cache, int layer, RotaryTable? rope)
    {
        using var scope = NewDisposeScope();
        bool host = rope is not null;
        var attended = self_attn.ForwardStep(input_layernorm.ForwardStep(x, host), cos, sin, plan, cache, layer, rope);
        var (h, normed) = post_attention_layernorm.AddForwardStep(x, attended, host);
        return h.Plus(mlp.ForwardStep(normed, host)).MoveToOuterDisposeScope();
    }
}
