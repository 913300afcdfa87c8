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
    public static Tensor Plus(this Tensor a, Tensor b) => Kept(1, one => a.add(b, one));

    /// <summary><c>a + (-1) b</c>: exact, as <c>a - b</c> (this TorchSharp's <c>sub</c> takes no alpha, and how it makes
    /// its own is not ours to check).</summary>
    public static Tensor Minus(this Tensor a, Tensor b) => Kept(-1, minusOne => a.add(b, minusOne));

    public static Tensor Plus(this Tensor a, double b) => Kept(b, s => Kept(1, one => a.add(s, one)));

    public static Tensor Times(this Tensor a, double b) => Kept(b, s => a.mul(s));

    public static Tensor DividedBy(this Tensor a, double b) => Kept(b, s => a.div(s));

    /// <summary><c>a &gt;= b</c> element-wise.</summary>
    public static Tensor AtLeast(this Tensor a, double b) => Kept(b, s => a.ge(s));

    /// <summary><c>a &gt; b</c> element-wise.</summary>
    public static Tensor Above(this Tensor a, double b) => Kept(b, s => a.gt(s));

    /// <summary><c>a &lt; b</c> element-wise.</summary>
    public static Tensor Below(this Tensor a, double b) => Kept(b, s => a.lt(s));

    /// <summary><c>a</c> with <paramref name="value"/> where <paramref name="mask"/> is true.</summary>
    public static Tensor FilledWhere(this Tensor a, Tensor mask, double value) => Kept(value, s => a.masked_fill(mask, s));

    /// <summary>Integer bound: the result keeps an integer tensor's dtype.</summary>
    public static Tensor ClampedAbove(this Tensor a, long max) => Kept(max, s => a.clamp_max(s));

    public static Tensor ClampedAbove(this Tensor a, double max) => Kept(max, s => a.clamp_max(s));

    public static Tensor ClampedBelow(this Tensor a, double min) => Kept(min, s => a.clamp_min(s));

    public static Tensor Clamped(this Tensor a, double min, double max) => Kept(min, lo => Kept(max, hi => a.clamp(lo, hi)));

    /// <summary><c>arange(start, stop, step)</c> as int64.</summary>
    public static Tensor Range(long start, long stop, long step = 1, Device? device = null) =>
        Kept(start, a => Kept(stop, b => Kept(step, c => arange(a, b, c, ScalarType.Int64, device))));

    /// <summary>Runs <paramref name="op"/> with a Scalar of <paramref name="value"/> that lives until it returns.</summary>
    static Tensor Kept(double value, Func<Scalar, Tensor> op)
    {
        using var s = value.ToScalar();
        return op(s);
    }

    static Tensor Kept(long value, Func<Scalar, Tensor> op)
    {
        using var s = value.ToScalar();
        return op(s);
    }
}
