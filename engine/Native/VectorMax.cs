using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TreePO.Engine.Native;

/// <summary>The largest of a row of floats, eight lanes at a time (the host passes' softmaxes: a scalar
/// <c>MathF.Max</c> loop was a quarter of the decode attention pass). NaN anywhere gives NaN, as <c>MathF.Max</c>.</summary>
internal static unsafe class VectorMax
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Of(float* p, int n)
    {
        int w = Vector256<float>.Count, j = 0;
        var m = Vector256.Create(float.NegativeInfinity);
        for (; j <= n - w; j += w) m = Vector256.Max(m, Vector256.Load(p + j));
        float max = float.NegativeInfinity;
        for (int k = 0; k < w; k++) max = MathF.Max(max, m[k]);
        for (; j < n; j++) max = MathF.Max(max, p[j]);
        return max;
    }
}
