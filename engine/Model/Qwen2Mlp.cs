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
    readonly long intermediate;
    FusedProjection? gateUp;
    StepMatrix? down;

    public Qwen2Mlp(Qwen2Config c) : base(nameof(Qwen2Mlp))
    {
        intermediate = c.IntermediateSize;
        gate_proj = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        up_proj = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        down_proj = nn.Linear(c.IntermediateSize, c.HiddenSize, hasBias: false);
        RegisterComponents();
    }

    internal IEnumerable<Tensor> Weights => [gate_proj.weight!, up_proj.weight!, down_proj.weight!];

    /// <summary>Makes gate/up one product for the cached step (see <see cref="FusedProjection"/>).</summary>
    internal void Fuse()
    {
        gateUp?.Dispose();
        gateUp = new FusedProjection(gate_proj, up_proj);
        down?.Dispose();
        down = new StepMatrix(() => down_proj.weight!);
    }

    internal IEnumerable<StepMatrix> StepMatrices => [gateUp!.Step, down!];

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return down_proj.forward(nn.functional.silu(gate_proj.forward(x)) * up_proj.forward(x)).MoveToOuterDisposeScope();
    }

    /// <summary>The same function for the cached step (no autograd): gate and up as one product, and the activation in
    /// one pass over host memory where <paramref name="host"/> (<see cref="HostSwiGlu"/>).</summary>
    internal Tensor ForwardStep(Tensor x, bool host)
    {
        if (gateUp is null) throw new InvalidOperationException("the cached step needs the fused projections (Qwen2Model fuses them)");
        using var scope = NewDisposeScope();
        var both = gateUp.Forward(x);
        if (host) return down!.Forward(HostSwiGlu.Apply(both, intermediate)).MoveToOuterDisposeScope();
        var gate = both.narrow(-1, 0, intermediate);
        var up = both.narrow(-1, intermediate, intermediate);
        return down!.Forward(nn.functional.silu(gate) * up).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            gateUp?.Dispose();
            down?.Dispose();
        }
        base.Dispose(disposing);
    }
}
