using TorchSharp;
using static TorchSharp.torch;

namespace TreePO.Engine.Model;

/// <summary>
/// One weight matrix of the cached step, <c>x W^T + b</c>. On a CPU the product reads a contiguous <c>[in, out]</c>
/// copy of <c>W</c> made at the first step after the weights last changed: libtorch's CPU GEMM multiplies a few rows
/// by a transposed <c>[out, in]</c> matrix much more slowly than by one laid out <c>[in, out]</c> (the built-in
/// model's q/k/v at 1 and 55 rows: 6.4 and 44 us against 3.2 and 35 us; Qwen2.5-0.5B's up projection at 16 rows: 4.1
/// against 2.4 ms). The copy costs the weights' memory once more. The parameters stay the model's storage (loading,
/// weight updates and checkpoints see them as before); whatever writes them in place tells the model
/// (<see cref="Qwen2Model.WeightsChanged"/>), which drops the copies. Elsewhere the product is libtorch's
/// <c>linear</c>, which GPUs serve well either way.
/// </summary>
public sealed class StepMatrix : IDisposable
{
    readonly Func<Tensor> weight;
    readonly Func<Tensor?> bias;
    Tensor? transposed;

    /// <param name="weight">The current <c>[out, in]</c> weight (read at each use: a module's parameter can be re-pointed).</param>
    internal StepMatrix(Func<Tensor> weight, Func<Tensor?>? bias = null)
    {
        this.weight = weight;
        this.bias = bias ?? (() => null);
    }

    /// <summary>The width of an input row.</summary>
    public long InFeatures => weight().size(1);

    /// <summary>x <c>[N, in]</c> to <c>[N, out]</c>.</summary>
    public Tensor Forward(Tensor x)
    {
        var w = weight();
        var b = bias();
        if (w.device_type != DeviceType.CPU || x.dim() != 2) return nn.functional.linear(x, w, b);
        if (transposed is null)
            using (no_grad())
                transposed = w.t().contiguous().DetachFromDisposeScope();
        return b is null ? x.mm(transposed) : addmm(b, x, transposed, 1, 1);
    }

    /// <summary>The weight changed: the next product makes its copy again.</summary>
    internal void Invalidate()
    {
        transposed?.Dispose();
        transposed = null;
    }

    public void Dispose() => Invalidate();
}
