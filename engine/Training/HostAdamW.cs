using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Training;

/// <summary>
/// One AdamW update of one fp32 CPU parameter in a single pass over its elements, the arithmetic of
/// <see cref="AdamWOptimizer"/> in the same order and precision (fp32; the moments' multiply-adds fused, as libtorch's
/// vectorised <c>add_</c>/<c>addcmul_</c> kernels fuse them on an AVX2 machine, where the moments came out bit for bit
/// and the parameters within a unit or two in the last place): the five libtorch calls and seven Scalars a parameter otherwise takes
/// cost ~7 ms an optimiser step on the built-in model's small parameters, about a tenth of its policy update.
/// </summary>
internal static unsafe class HostAdamW
{
    /// <summary>Whether the pass serves these tensors: fp32 on a CPU, every one laid out contiguously.</summary>
    public static bool Serves(Tensor parameter, Tensor grad, Tensor expAvg, Tensor expAvgSq) =>
        HostMemory.Serves(parameter.device, parameter.dtype) && grad.dtype == parameter.dtype && grad.device_type == parameter.device_type
        && parameter.is_contiguous() && grad.is_contiguous() && expAvg.is_contiguous() && expAvgSq.is_contiguous()
        && grad.numel() == parameter.numel();

    /// <summary><c>p *= decay; m = b1·m + (1-b1)·g; v = b2·v + (1-b2)·g·g; p += stepSize · m / (√v / root2 + eps)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Step(Tensor parameter, Tensor grad, Tensor expAvg, Tensor expAvgSq,
        float decay, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float root2, float eps, float stepSize)
    {
        long n = parameter.numel();
        float* p = HostMemory.Floats(parameter), g = HostMemory.Floats(grad), m = HostMemory.Floats(expAvg), v = HostMemory.Floats(expAvgSq);
        int width = Vector256<float>.Count;
        var vDecay = Vector256.Create(decay);
        var vB1 = Vector256.Create(beta1);
        var vB1c = Vector256.Create(oneMinusBeta1);
        var vB2 = Vector256.Create(beta2);
        var vB2c = Vector256.Create(oneMinusBeta2);
        var vRoot2 = Vector256.Create(root2);
        var vEps = Vector256.Create(eps);
        var vStep = Vector256.Create(stepSize);
        long i = 0;
        for (; i <= n - width; i += width)
        {
            var gi = Vector256.Load(g + i);
            var pi = Vector256.Load(p + i) * vDecay;
            var mi = Vector256.FusedMultiplyAdd(gi, vB1c, Vector256.Load(m + i) * vB1);
            var vi = Vector256.FusedMultiplyAdd(vB2c * gi, gi, Vector256.Load(v + i) * vB2);
            var denom = Vector256.Sqrt(vi) / vRoot2 + vEps;
            Vector256.Store(mi, m + i);
            Vector256.Store(vi, v + i);
            Vector256.Store(Vector256.FusedMultiplyAdd(vStep, mi / denom, pi), p + i);
        }
        for (; i < n; i++)
        {
            float gi = g[i];
            float pi = p[i] * decay;
            float mi = MathF.FusedMultiplyAdd(gi, oneMinusBeta1, m[i] * beta1);
            float vi = MathF.FusedMultiplyAdd(oneMinusBeta2 * gi, gi, v[i] * beta2);
            m[i] = mi;
            v[i] = vi;
            p[i] = MathF.FusedMultiplyAdd(stepSize, mi / (MathF.Sqrt(vi) / root2 + eps), pi);
        }
        GC.KeepAlive(parameter);
        GC.KeepAlive(grad);
        GC.KeepAlive(expAvg);
        GC.KeepAlive(expAvgSq);
    }

    /// <summary>Zeroes a contiguous fp32 CPU tensor in place (a gradient between optimiser steps).</summary>
    public static bool TryZero(Tensor t)
    {
        if (!HostMemory.Serves(t.device, t.dtype) || !t.is_contiguous()) return false;
        long n = t.numel();
        float* p = HostMemory.Floats(t);
        for (long start = 0; start < n; start += int.MaxValue)
            new Span<float>(p + start, (int)Math.Min(int.MaxValue, n - start)).Clear();
        GC.KeepAlive(t);
        return true;
    }
}
