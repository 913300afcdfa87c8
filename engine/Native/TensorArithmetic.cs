using TorchSharp;
using static TorchSharp.torch;

namespace TreePO.Engine.Native;

/// <summary>
/// Tensor arithmetic that keeps every <see cref="Scalar"/> alive until libtorch returns. TorchSharp frees a Scalar's
/// native value in its finalizer, and the Scalars that operators make on the fly (the <c>1</c> of <c>a + b</c>, which
/// is <c>a.add(b, 1)</c>; the <c>0.5</c> of <c>x * 0.5</c>; the bounds of <c>arange</c>) are unreachable as soon as
/// their handle is read: a collection during the native call (any thread may start one) can free the value mid-call,
/// and libtorch then reads a garbage type tag ("Expected false to be true ... toFloat at c10/core/Scalar.h"). Code on a
/// model thread uses these instead of tensor operators with numbers, <c>+</c> and <c>-</c> between tensors, and
/// <c>arange</c> (<c>*</c> and <c>/</c> between two tensors take no Scalar and stay as they are).
/// </summary>
public static class TensorArithmetic
{
    public static Tensor Plus(this Tensor a, Tensor b)
    {
        using var one = 1.ToScalar();
        return a.add(b, one);
    }

    public static Tensor Minus(this Tensor a, Tensor b)
    {
        // a + (-1) b: exact, as a - b (this TorchSharp's sub takes no alpha, and its form inside is not ours to check).
        using var minusOne = (-1).ToScalar();
        return a.add(b, minusOne);
    }

    public static Tensor Plus(this Tensor a, double b)
    {
        using var s = b.ToScalar();
        using var one = 1.ToScalar();
        return a.add(s, one);
    }

    public static Tensor Times(this Tensor a, double b)
    {
        using var s = b.ToScalar();
        return a.mul(s);
    }

    public static Tensor DividedBy(this Tensor a, double b)
    {
        using var s = b.ToScalar();
        return a.div(s);
    }

    /// <summary><c>a &gt;= b</c> element-wise.</summary>
    public static Tensor AtLeast(this Tensor a, double b)
    {
        using var s = b.ToScalar();
        return a.ge(s);
    }

    /// <summary><c>a</c> with <paramref name="value"/> where <paramref name="mask"/> is true.</summary>
    public static Tensor FilledWhere(this Tensor a, Tensor mask, double value)
    {
        using var s = value.ToScalar();
        return a.masked_fill(mask, s);
    }

    public static Tensor ClampedAbove(this Tensor a, long max)
    {
        using var s = max.ToScalar();
        return a.clamp_max(s);
    }

    public static Tensor ClampedAbove(this Tensor a, double max)
    {
        using var s = max.ToScalar();
        return a.clamp_max(s);
    }

    public static Tensor Clamped(this Tensor a, double min, double max)
    {
        using var lo = min.ToScalar();
        using var hi = max.ToScalar();
        return a.clamp(lo, hi);
    }

    /// <summary><c>a &gt; b</c> element-wise.</summary>
    public static Tensor Above(this Tensor a, double b)
    {
        using var s = b.ToScalar();
        return a.gt(s);
    }

    /// <summary><c>a &lt; b</c> element-wise.</summary>
    public static Tensor Below(this Tensor a, double b)
    {
        using var s = b.ToScalar();
        return a.lt(s);
    }

    public static Tensor ClampedBelow(this Tensor a, double min)
    {
        using var s = min.ToScalar();
        return a.clamp_min(s);
    }

    /// <summary><c>arange(start, stop, step)</c> as int64.</summary>
    public static Tensor Range(long start, long stop, long step = 1, Device? device = null)
    {
        using var a = start.ToScalar();
        using var b = stop.ToScalar();
        using var c = step.ToScalar();
        return arange(a, b, c, ScalarType.Int64, device);
    }
}
