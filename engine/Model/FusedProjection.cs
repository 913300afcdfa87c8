using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TreePO.Engine.Model;

/// <summary>
/// Several linear layers that read the same input (q/k/v, gate/up) as one matrix product in the cached step: their
/// weights (and biases) are re-pointed to row ranges of one buffer, so the separate parameters that checkpoints, the
/// weight stream and the optimiser see stay the model's real storage (an in-place copy into either side shows in
/// both), while a decode step pays one GEMM call instead of two or three. The full pass (training) keeps the separate
/// layers: autograd reaches the parameters only through them. Not a module: its tensors are never saved.
/// </summary>
internal sealed class FusedProjection : IDisposable
{
    public Tensor Weight { get; }
    public Tensor? Bias { get; }

    /// <summary>Re-points <paramref name="layers"/>' parameters to views of one buffer on their device, with their
    /// current values. Call after the model reaches its device: moving it afterwards would break the aliasing.</summary>
    public FusedProjection(params Linear[] layers)
    {
        using var noGrad = no_grad();
        Weight = cat(layers.Select(l => l.weight!).ToArray(), 0).DetachFromDisposeScope();
        bool biased = layers[0].bias is not null;
        if (layers.Any(l => l.bias is not null != biased)) throw new ArgumentException("fused layers must all have biases or none");
        if (biased) Bias = cat(layers.Select(l => l.bias!).ToArray(), 0).DetachFromDisposeScope();
        long row = 0;
        foreach (var layer in layers)
        {
            long rows = layer.weight!.shape[0];
            var oldWeight = layer.weight;
            layer.weight = new Parameter(Weight.narrow(0, row, rows), oldWeight.requires_grad);
            oldWeight.Dispose();
            if (Bias is not null)
            {
                var oldBias = layer.bias!;
                layer.bias = new Parameter(Bias.narrow(0, row, rows), oldBias.requires_grad);
                oldBias.Dispose();
            }
            row += rows;
        }
        Step = new StepMatrix(() => Weight, () => Bias);
    }

    /// <summary>The product as the cached step makes it (<see cref="StepMatrix"/>).</summary>
    public StepMatrix Step { get; }

    public Tensor Forward(Tensor x) => Step.Forward(x);

    public void Dispose()
    {
        Step.Dispose();
        Weight.Dispose();
        Bias?.Dispose();
    }
}
