using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using TreePO.Engine.Native;
using static TorchSharp.torch;

namespace TreePO.Engine.Model;

/// <summary>
/// RMSNorm of the cached step's rows in one pass over host memory (a CPU model in fp32), optionally with the residual
/// add before it: <c>h = x + y</c>, <c>n = weight * (h * rsqrt(mean(h^2) + eps))</c>. libtorch makes that six or seven
/// calls (add, square, mean, add, rsqrt, two products), each with a fixed cost of a few microseconds that at the
/// built-in model's size is most of the work. The products and the add round as libtorch's do (no fused multiply-add);
/// only the sum of squares adds in another order, so results agree within a few units in the last place.
/// </summary>
internal static unsafe class HostNorm
{
    /// <summary><c>weight * (x * rsqrt(mean(x^2) + eps))</c> row by row; x <c>[N, hidden]</c>.</summary>
    public static Tensor Normalize(Tensor x, Tensor weight, double eps)
    {
        var xc = HostMemory.Contiguous(x);
        var output = empty_like(xc);
        Rows(HostMemory.Floats(xc), null, null, HostMemory.Floats(weight), HostMemory.Floats(output), Check(xc, weight), (int)xc.size(-1), (float)eps);
        GC.KeepAlive(xc);
        return output;
    }

    /// <summary>The residual sum <c>h = x + y</c> and its norm, both <c>[N, hidden]</c>.</summary>
    public static (Tensor Sum, Tensor Normed) AddNormalize(Tensor x, Tensor y, Tensor weight, double eps)
    {
        var xc = HostMemory.Contiguous(x);
        var yc = HostMemory.Contiguous(y);
        if (!HostMemory.SameShape(xc, yc)) throw new ArgumentException($"x [{string.Join(", ", xc.shape)}] and y [{string.Join(", ", yc.shape)}] differ");
        var sum = empty_like(xc);
        var normed = empty_like(xc);
        Rows(HostMemory.Floats(xc), HostMemory.Floats(yc), HostMemory.Floats(sum), HostMemory.Floats(weight), HostMemory.Floats(normed),
            Check(xc, weight), (int)xc.size(-1), (float)eps);
        GC.KeepAlive(xc);
        GC.KeepAlive(yc);
        return (sum, normed);
    }

    static long Check(Tensor x, Tensor weight)
    {
        long hidden = x.size(-1);
        if (weight.dim() != 1 || weight.size(0) != hidden || !weight.is_contiguous())
            throw new ArgumentException($"the norm's weight [{string.Join(", ", weight.shape)}] does not match rows of {hidden}");
        return x.numel() / hidden;
    }

    // Each row: h = x (+ y) stored when asked, the sum of h^2, then w * (h * inv).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Rows(float* x, float* y, float* sum, float* w, float* o, long rows, int hidden, float eps)
    {
        int width = Vector256<float>.Count;
        for (long r = 0; r < rows; r++)
        {
            float* xr = x + r * hidden, or = o + r * hidden;
            float* hr = xr;
            if (y is not null)
            {
                hr = sum + r * hidden;
                float* yr = y + r * hidden;
                int d = 0;
                for (; d <= hidden - width; d += width)
                    Vector256.Store(Vector256.Load(xr + d) + Vector256.Load(yr + d), hr + d);
                for (; d < hidden; d++) hr[d] = xr[d] + yr[d];
            }
            var acc = Vector256<float>.Zero;
            int c = 0;
            for (; c <= hidden - width; c += width)
            {
                var v = Vector256.Load(hr + c);
                acc += v * v;
            }
            float squares = Vector256.Sum(acc);
            for (; c < hidden; c++) squares += hr[c] * hr[c];
            float inv = 1f / MathF.Sqrt(squares / hidden + eps);
            var invV = Vector256.Create(inv);
            c = 0;
            for (; c <= hidden - width; c += width)
                Vector256.Store(Vector256.Load(w + c) * (Vector256.Load(hr + c) * invV), or + c);
            for (; c < hidden; c++) or[c] = w[c] * (hr[c] * inv);
        }
    }
}
