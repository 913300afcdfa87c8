using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Model;

/// <summary>
/// Rotary-embedding cos/sin tables <c>[positions, head_dim]</c>, computed once in fp32 exactly as HF's default rope
/// (<c>inv_freq = 1 / theta^(2i/d)</c>, <c>emb = cat(freqs, freqs)</c>). Not a module: it is derived state, never saved.
/// </summary>
public sealed class RotaryTable : IDisposable
{
    public Tensor Cos { get; }
    public Tensor Sin { get; }
    public int Length { get; }

    public RotaryTable(int headDim, double theta, int length, Device device)
    {
        Length = length;
        using (var scope = NewDisposeScope())
        {
            var exponents = TensorArithmetic.Range(0, headDim, 2).to(ScalarType.Float32).DividedBy(headDim);
            var invFreq = pow(tensor((float)theta), exponents).reciprocal();
            var positions = TensorArithmetic.Range(0, length).to(ScalarType.Float32);
            var freqs = outer(positions, invFreq);
            var emb = cat([freqs, freqs], -1);
            Cos = emb.cos().to(device).DetachFromDisposeScope();
            Sin = emb.sin().to(device).DetachFromDisposeScope();
        }
    }

    /// <summary>Rotates <paramref name="x"/> <c>[..., D]</c> by cos/sin broadcast against it (rotate-half form).</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long half = x.shape[^1] / 2;
        var rotated = cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);
        return (x * cos).Plus(rotated * sin).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Cos.Dispose();
        Sin.Dispose();
    }
}
