using System.Numerics;

namespace TreePO.Core.Reward;

/// <summary>
/// A number of the form q·√n (q rational, n a square-free positive integer; n = 1 for rationals): closed under
/// products, quotients and integer powers, and under sums of like radicals. That covers integers, decimals,
/// fractions, LaTeX fractions and simple radicals exactly.
/// </summary>
public readonly record struct ExactValue(Rational Coefficient, BigInteger Radicand)
{
    /// <summary>Radicands above this are not factored (trial division must stay fast).</summary>
    public static readonly BigInteger MaxRadicand = 1_000_000_000_000;

    public static ExactValue FromRational(Rational q) => new(q, BigInteger.One);

    /// <summary>√k for a non-negative integer k: pulls out square factors (12 → 2√3).</summary>
    public static ExactValue Sqrt(Rational k)
    {
        if (k.Sign < 0) throw new ArithmeticException("square root of a negative number");
        // √(a/b) = √(ab)/b
        BigInteger ab = k.Numerator * k.Denominator;
        if (ab > MaxRadicand) throw new OverflowException("radicand too large");
        var (outside, inside) = SquareFree(ab);
        return Normalised(new Rational(outside, k.Denominator), inside);
    }

    static (BigInteger Outside, BigInteger Inside) SquareFree(BigInteger n)
    {
        if (n.IsZero) return (0, 1);
        long m = (long)n, outside = 1, inside = 1;
        for (long p = 2; p * p <= m; p++)
        {
            int e = 0;
            while (m % p == 0) { m /= p; e++; }
            for (int i = 0; i < e / 2; i++) outside *= p;
            if (e % 2 == 1) inside *= p;
        }
        inside *= m;
        return (outside, inside);
    }

    static ExactValue Normalised(Rational q, BigInteger n) => q.IsZero ? new(Rational.Zero, 1) : new(q, n);

    public bool IsRational => Radicand.IsOne;

    public static ExactValue operator -(ExactValue a) => new(-a.Coefficient, a.Radicand);

    public static ExactValue operator +(ExactValue a, ExactValue b)
    {
        if (a.Coefficient.IsZero) return b;
        if (b.Coefficient.IsZero) return a;
        if (a.Radicand != b.Radicand) throw new NotSupportedException("sum of unlike radicals");
        return Normalised(a.Coefficient + b.Coefficient, a.Radicand);
    }

    public static ExactValue operator -(ExactValue a, ExactValue b) => a + -b;

    public static ExactValue operator *(ExactValue a, ExactValue b)
    {
        // √n·√m with n, m square-free: g = gcd(n, m), √(nm) = g·√((n/g)(m/g)) and the rest is square-free.
        BigInteger g = BigInteger.GreatestCommonDivisor(a.Radicand, b.Radicand);
        BigInteger rest = a.Radicand / g * (b.Radicand / g);
        if (rest > MaxRadicand) throw new OverflowException("radicand too large");
        return Normalised(a.Coefficient * b.Coefficient * new Rational(g, 1), rest);
    }

    public static ExactValue operator /(ExactValue a, ExactValue b)
    {
        if (b.Coefficient.IsZero) throw new DivideByZeroException();
        // 1/(q√m) = √m / (q·m)
        var inverse = new ExactValue(Rational.One / (b.Coefficient * new Rational(b.Radicand, 1)), b.Radicand);
        return a * inverse;
    }

    public ExactValue Pow(int exponent)
    {
        if (Math.Abs(exponent) > 64) throw new OverflowException("exponent too large");
        ExactValue result = FromRational(Rational.One);
        ExactValue b = exponent < 0 ? FromRational(Rational.One) / this : this;
        for (int i = 0; i < Math.Abs(exponent); i++) result *= b;
        return result;
    }

    public double ToDouble() => Coefficient.ToDouble() * Math.Sqrt((double)Radicand);
}
