using TorchSharp;
using TorchSharp.Modules;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Model;

/// <summary>Qwen2's RMSNorm: <c>weight * x / sqrt(mean(x^2) + eps)</c>, in fp32 (HF's order of operations). A bf16 input
/// is normalised in fp32 and cast back before the weight multiplies it, as HF does: a bf16 mean of squares over the hidden
/// size would lose the variance's low bits.</summary>
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

    /// <summary>The cached step's norm: one pass over host memory where <paramref name="host"/> (<see cref="HostNorm"/>).</summary>
    internal Tensor ForwardStep(Tensor x, bool host) => host ? HostNorm.Normalize(x, weight, eps) : forward(x);

    /// <summary>The cached step's residual sum <c>x + y</c> and its norm, in one pass where <paramref name="host"/>.</summary>
    internal (Tensor Sum, Tensor Normed) AddForwardStep(Tensor x, Tensor y, bool host)
    {
        if (host) return HostNorm.AddNormalize(x, y, weight, eps);
        var sum = x.Plus(y);
        return (sum, forward(sum));
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        if (x.dtype != ScalarType.Float32)
        {
            var wide = x.to(ScalarType.Float32);
            var normed = wide * rsqrt(wide.square().mean([-1], keepdim: true).Plus(eps));
            return (weight * normed.to(x.dtype)).MoveToOuterDisposeScope();
        }
        var variance = x.square().mean([-1], keepdim: true);
        return (weight * (x * rsqrt(variance.Plus(eps)))).MoveToOuterDisposeScope();
    }
}
