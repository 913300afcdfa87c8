using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TreePO.Engine.Model;

/// <summary>SwiGLU: <c>down(silu(gate(x)) * up(x))</c>, no biases.</summary>
public sealed class Qwen2Mlp : nn.Module<Tensor, Tensor>
{
    readonly Linear gate_proj;
    readonly Linear up_proj;
    readonly Linear down_proj;

    public Qwen2Mlp(Qwen2Config c) : base(nameof(Qwen2Mlp))
    {
        gate_proj = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        up_proj = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        down_proj = nn.Linear(c.IntermediateSize, c.HiddenSize, hasBias: false);
        RegisterComponents();
    }

    internal IEnumerable<Tensor> Weights => [gate_proj.weight!, up_proj.weight!, down_proj.weight!];

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return down_proj.forward(nn.functional.silu(gate_proj.forward(x)) * up_proj.forward(x)).MoveToOuterDisposeScope();
    }
}
