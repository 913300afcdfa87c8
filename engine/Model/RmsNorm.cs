using TorchSharp;
using TorchSharp.Modules;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Model;

/// <summary>Qwen2's RMSNorm: <c>weight * x / sqrt(mean(x^2) + eps)</c>, in fp32 (HF's order of operations).</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly double eps;

    public RmsNorm(long dim, double eps) : base(nameof(RmsNorm))
    {
        weight = new Parameter(ones(dim));
        this.eps = eps;
        RegisterComponents();
    }

    public Parameter Weight => weight;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var variance = x.square().mean([-1], keepdim: true);
        return (weight * (x * rsqrt(variance.Plus(eps)))).MoveToOuterDisposeScope();
    }
}
