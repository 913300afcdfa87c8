using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Model;

/// <summary>
/// The cached step's <c>silu(gate) * up</c> in one pass over host memory (a CPU model in fp32), from the fused gate/up
/// product <c>[N, 2 I]</c>: two views, the activation and the product are four libtorch calls a layer otherwise.
/// <c>silu(x) = x / (1 + exp(-x))</c> with <see cref="FastExp"/>, within a few units in the last place of libtorch's.
/// </summary>
internal static unsafe class HostSwiGlu
{
    /// <summary>Returns <c>[N, I]</c> from <paramref name="gateUp"/> <c>[N, 2 I]</c> (gate first, then up).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Apply(Tensor gateUp, long intermediate)
    {
        var both = HostMemory.Contiguous(gateUp);
        if (both.size(-1) != 2 * intermediate) throw new ArgumentException($"gate/up rows of {both.size(-1)}, expected {2 * intermediate}");
        long n = both.numel() / both.size(-1);
        var output = empty([n, intermediate], ScalarType.Float32, both.device);
        float* src = HostMemory.Floats(both), o = HostMemory.Floats(output);
        int width = Vector256<float>.Count, size = (int)intermediate;
        var one = Vector256<float>.One;
        for (long r = 0; r < n; r++)
        {
            float* gate = src + r * 2 * size, up = gate + size, or = o + r * size;
            int d = 0;
            for (; d <= size - width; d += width)
            {
                var g = Vector256.Load(gate + d);
                Vector256.Store(g / (one + FastExp.Exp(-g)) * Vector256.Load(up + d), or + d);
            }
            for (; d < size; d++) or[d] = gate[d] / (1f + MathF.Exp(-gate[d])) * up[d];
        }
        GC.KeepAlive(both);
        return output;
    }
}
