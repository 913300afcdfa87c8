using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Model;

/// <summary>
/// Rotary-embedding cos/sin tables <c>[positions, head_dim]</c>, computed once in fp32 exactly as HF's default rope
/// (<c>inv_freq = 1 / theta^(2i/d)</c>, <c>emb = cat(freqs, freqs)</c>); a bf16 model casts the rows a pass uses to bf16,
/// as HF does. Not a module: it is derived state, never saved.
/// The sine table carries rotate-half's sign (<c>[-sin, +sin]</c> by halves), which saves a negation per rotation and
/// changes no bit: <c>(-a) * b == a * (-b)</c> in IEEE arithmetic.
/// </summary>
public sealed class RotaryTable : IDisposable
{
    public Tensor Cos { get; }
    /// <summary><c>sin(emb)</c> with its first half negated.</summary>
    public Tensor SignedSin { get; }
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
            var sin = emb.sin();
            SignedSin = cat([sin.narrow(-1, 0, headDim / 2).neg(), sin.narrow(-1, headDim / 2, headDim / 2)], -1).to(device).DetachFromDisposeScope();
        }
    }

    /// <summary>Rotates <paramref name="x"/> <c>[..., D]</c> by cos and the signed sine broadcast against it
    /// (rotate-half form: <c>x cos + [-x2, x1] sin</c>).</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor signedSin)
    {
        using var scope = NewDisposeScope();
        // [x2, x1] as one op: rolling the last dimension by half swaps its halves (the same data a cat of the two
        // narrowed halves builds, in one call instead of three).
        var swapped = x.roll(x.shape[^1] / 2, -1);
        return (x * cos).Plus(swapped * signedSin).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Cos.Dispose();
        SignedSin.Dispose();
    }
}
